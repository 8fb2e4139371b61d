#include "trace/definition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace probekit;
using namespace probekit::trace;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

Definition ok(std::string_view text) {
  auto d = parse_definition(text);
  EXPECT_TRUE(d.ok()) << text << ": " << (d ? "" : d.error().message());
  return d ? *d : Definition{};
}

FetchArg one_arg(std::string_view text) {
  auto d = ok(text);
  EXPECT_EQ(d.args.size(), 1u) << text;
  return d.args.empty() ? FetchArg{} : d.args[0];
}

Error err(std::string_view text) {
  auto d = parse_definition(text);
  EXPECT_FALSE(d.ok()) << text << " parsed";
  return d ? Error("parsed") : d.error();
}

int col(const Error& e) { return e.range() ? e.range()->column : -1; }

RegisterRef reg(Gpr g, uint8_t bits = 64, uint8_t shift = 0) { return RegisterRef{g, bits, shift}; }

}  // namespace

TEST(DefinitionHead, Defaults) {
  auto d = ok("p malloc");
  EXPECT_EQ(d.kind, ProbeKind::entry);
  EXPECT_EQ(d.group, "probekit");
  EXPECT_EQ(d.event, "p_malloc_0");
  EXPECT_EQ(d.module, "");
  EXPECT_EQ(d.symbol, "malloc");
  EXPECT_EQ(d.offset, 0u);
  EXPECT_FALSE(d.address.has_value());
  EXPECT_EQ(d.maxactive, 0);
  EXPECT_TRUE(d.args.empty());
  EXPECT_EQ(d.full_name(), "probekit/p_malloc_0");
  EXPECT_EQ(d.location_text(), "malloc");
  EXPECT_EQ(d.text, "p malloc");
}

TEST(DefinitionHead, GroupEventModuleOffset) {
  auto d = ok("p:grp/ev libc.so.6:malloc+0x10");
  EXPECT_EQ(d.group, "grp");
  EXPECT_EQ(d.event, "ev");
  EXPECT_EQ(d.module, "libc.so.6");
  EXPECT_EQ(d.symbol, "malloc");
  EXPECT_EQ(d.offset, 16u);
  EXPECT_EQ(d.location_text(), "libc.so.6:malloc+0x10");
  EXPECT_EQ(d.full_name(), "grp/ev");
}

TEST(DefinitionHead, EventOnlyKeepsDefaultGroup) {
  auto d = ok("p:myev work");
  EXPECT_EQ(d.group, "probekit");
  EXPECT_EQ(d.event, "myev");
}

TEST(DefinitionHead, EmptyEventAfterGroupGetsDefault) {
  auto d = ok("p:grp/ work+16");
  EXPECT_EQ(d.group, "grp");
  EXPECT_EQ(d.event, "p_work_16");
}

TEST(DefinitionHead, Addresses) {
  auto d = ok("p 0x401000");
  EXPECT_EQ(d.address, 0x401000u);
  EXPECT_EQ(d.symbol, "");
  EXPECT_EQ(d.event, "p_0x401000");
  EXPECT_EQ(d.location_text(), "0x401000");
  auto m = ok("p a.out:0x1130");
  EXPECT_EQ(m.module, "a.out");
  EXPECT_EQ(m.address, 0x1130u);
  EXPECT_EQ(m.event, "p_a_out_0x1130");
  EXPECT_EQ(m.location_text(), "a.out:0x1130");
  auto p = ok("p /usr/lib/libz.so.1:4096");
  EXPECT_EQ(p.module, "/usr/lib/libz.so.1");
  EXPECT_EQ(p.address, 4096u);
  EXPECT_EQ(p.event, "p_libz_so_1_0x1000");
}

TEST(DefinitionHead, CxxNamesKeepTheirColons) {
  auto d = ok("p a.out:ns::f+4");
  EXPECT_EQ(d.module, "a.out");
  EXPECT_EQ(d.symbol, "ns::f");
  EXPECT_EQ(d.offset, 4u);
  EXPECT_EQ(d.event, "p_ns__f_4");
  auto n = ok("p ns::f");
  EXPECT_EQ(n.module, "");
  EXPECT_EQ(n.symbol, "ns::f");
}

TEST(DefinitionHead, ReturnProbes) {
  auto r = ok("r malloc");
  EXPECT_EQ(r.kind, ProbeKind::ret);
  EXPECT_TRUE(r.is_return());
  EXPECT_EQ(r.event, "r_malloc_0");
  auto m = ok("r16:grp/ev libc.so.6:malloc+0");
  EXPECT_EQ(m.maxactive, 16);
  EXPECT_EQ(m.group, "grp");
  EXPECT_EQ(m.event, "ev");
  EXPECT_EQ(m.offset, 0u);
  auto pct = ok("p libc.so.6:free%return");
  EXPECT_EQ(pct.kind, ProbeKind::ret);
  EXPECT_EQ(pct.symbol, "free");
  EXPECT_EQ(pct.module, "libc.so.6");
  EXPECT_EQ(pct.event, "r_free_0");
  EXPECT_EQ(ok("p:ev free%return").event, "ev");
}

TEST(DefinitionHead, LocationShorthand) {
  auto d = ok("p:libc.so.6:malloc size=%di:u64");
  EXPECT_EQ(d.module, "libc.so.6");
  EXPECT_EQ(d.symbol, "malloc");
  EXPECT_EQ(d.event, "p_malloc_0");
  ASSERT_EQ(d.args.size(), 1u);
  EXPECT_EQ(d.args[0].column, 20);
  auto r = ok("r4:free");
  EXPECT_EQ(r.symbol, "free");
  EXPECT_EQ(r.maxactive, 4);
  EXPECT_EQ(r.event, "r_free_0");
  EXPECT_EQ(ok("p:work+8 %di").offset, 8u);
  // The kernel's reading wins whenever it can apply.
  auto k = ok("p:ev malloc %di");
  EXPECT_EQ(k.event, "ev");
  EXPECT_EQ(k.symbol, "malloc");
  auto g = parse_definition("p:grp/ev");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().range()->column, 9);
  // Errors inside the shorthand location point into the first token.
  auto e = parse_definition("p:libc.so.6:f+zz");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().range()->column, 15);
}

TEST(DefinitionArgs, Registers) {
  struct Case {
    const char* text;
    RegisterRef ref;
  };
  const Case cases[] = {
      {"%di", reg(Gpr::rdi)},          {"%si", reg(Gpr::rsi)},          {"%ax", reg(Gpr::rax)},
      {"%rax", reg(Gpr::rax)},         {"%eax", reg(Gpr::rax, 32)},     {"%edi", reg(Gpr::rdi, 32)},
      {"%dil", reg(Gpr::rdi, 8)},      {"%al", reg(Gpr::rax, 8)},       {"%ah", reg(Gpr::rax, 8, 8)},
      {"%dh", reg(Gpr::rdx, 8, 8)},    {"%r8", reg(Gpr::r8)},           {"%r8d", reg(Gpr::r8, 32)},
      {"%r15w", reg(Gpr::r15, 16)},    {"%r9b", reg(Gpr::r9, 8)},       {"%r10l", reg(Gpr::r10, 8)},
      {"%ip", reg(Gpr::rip)},          {"%rip", reg(Gpr::rip)},         {"%sp", reg(Gpr::rsp)},
      {"%bp", reg(Gpr::rbp)},          {"%flags", reg(Gpr::eflags)},    {"%orig_ax", reg(Gpr::orig_rax)},
      {"%fs_base", reg(Gpr::fs_base)}, {"%spl", reg(Gpr::rsp, 8)},      {"%r12", reg(Gpr::r12)},
  };
  for (const auto& c : cases) {
    auto a = one_arg(std::string("p f ") + c.text);
    EXPECT_EQ(a.base, FetchBase::reg) << c.text;
    EXPECT_EQ(a.reg, c.ref) << c.text;
    EXPECT_TRUE(a.derefs.empty()) << c.text;
    EXPECT_EQ(a.type, (FetchType{TypeKind::hex, 8})) << c.text;
    EXPECT_FALSE(a.type_given);
    EXPECT_EQ(a.name, "arg1");
  }
}

TEST(DefinitionArgs, NamesTypesSpellingColumn) {
  auto d = ok("p:ev libc.so.6:malloc size=%di:u64 %si x=%dx:s32 %cx:string");
  ASSERT_EQ(d.args.size(), 4u);
  EXPECT_EQ(d.args[0].name, "size");
  EXPECT_EQ(d.args[0].type, (FetchType{TypeKind::unsigned_int, 8}));
  EXPECT_TRUE(d.args[0].type_given);
  EXPECT_EQ(d.args[0].spelling, "size=%di:u64");
  EXPECT_EQ(d.args[0].column, 23);
  EXPECT_EQ(d.args[1].name, "arg2");
  EXPECT_EQ(d.args[1].column, 36);
  EXPECT_EQ(d.args[2].name, "x");
  EXPECT_EQ(d.args[2].type, (FetchType{TypeKind::signed_int, 4}));
  EXPECT_EQ(d.args[3].name, "arg4");
  EXPECT_EQ(d.args[3].type.kind, TypeKind::string);
}

TEST(DefinitionArgs, EveryType) {
  struct Case {
    const char* name;
    FetchType type;
  };
  const Case cases[] = {
      {"u8", {TypeKind::unsigned_int, 1}}, {"u16", {TypeKind::unsigned_int, 2}},
      {"u32", {TypeKind::unsigned_int, 4}}, {"u64", {TypeKind::unsigned_int, 8}},
      {"s8", {TypeKind::signed_int, 1}},    {"s16", {TypeKind::signed_int, 2}},
      {"s32", {TypeKind::signed_int, 4}},   {"s64", {TypeKind::signed_int, 8}},
      {"x8", {TypeKind::hex, 1}},           {"x16", {TypeKind::hex, 2}},
      {"x32", {TypeKind::hex, 4}},          {"x64", {TypeKind::hex, 8}},
      {"string", {TypeKind::string, 0}},    {"ustring", {TypeKind::string, 0}},
      {"symbol", {TypeKind::symbol, 8}},    {"b4@3/32", {TypeKind::bitfield, 4, 4, 3}},
      {"b1@63/64", {TypeKind::bitfield, 8, 1, 63}},
  };
  for (const auto& c : cases) {
    auto a = one_arg(std::string("p f +0(%di):") + c.name);
    EXPECT_EQ(a.type, c.type) << c.name;
    EXPECT_TRUE(a.type_given);
  }
  EXPECT_EQ(FetchType::parse("b4@3/32")->name(), "b4@3/32");
  EXPECT_EQ(FetchType::parse("s16")->name(), "s16");
  EXPECT_EQ(FetchType::parse("ustring")->name(), "string");
  EXPECT_FALSE(FetchType::parse("b0@0/32"));
  EXPECT_FALSE(FetchType::parse("b8@30/32"));
  EXPECT_FALSE(FetchType::parse("b4@3/24"));
  EXPECT_FALSE(FetchType::parse("u128"));
}

TEST(DefinitionArgs, Memory) {
  auto a = one_arg("p f @0x601040");
  EXPECT_EQ(a.base, FetchBase::immediate);
  EXPECT_EQ(a.immediate, 0x601040u);
  EXPECT_EQ(a.derefs, (std::vector<int64_t>{0}));

  auto s = one_arg("p f @counter");
  EXPECT_EQ(s.base, FetchBase::symbol_address);
  EXPECT_EQ(s.text, "counter");
  EXPECT_EQ(s.derefs, (std::vector<int64_t>{0}));
  EXPECT_EQ(one_arg("p f @counter+8").derefs, (std::vector<int64_t>{8}));
  EXPECT_EQ(one_arg("p f @counter-0x10").derefs, (std::vector<int64_t>{-16}));
  EXPECT_EQ(one_arg("p f @_ZN2ns1gE.part.0:u32").text, "_ZN2ns1gE.part.0");
}

TEST(DefinitionArgs, StackAndArguments) {
  auto st = one_arg("p f $stack");
  EXPECT_EQ(st.reg, reg(Gpr::rsp));
  EXPECT_TRUE(st.derefs.empty());
  auto s3 = one_arg("p f $stack3");
  EXPECT_EQ(s3.reg, reg(Gpr::rsp));
  EXPECT_EQ(s3.derefs, (std::vector<int64_t>{24}));
  EXPECT_EQ(one_arg("p f $stack0").derefs, (std::vector<int64_t>{0}));

  const Gpr regs[] = {Gpr::rdi, Gpr::rsi, Gpr::rdx, Gpr::rcx, Gpr::r8, Gpr::r9};
  for (int n = 1; n <= 6; ++n) {
    auto a = one_arg("p f $arg" + std::to_string(n));
    EXPECT_EQ(a.base, FetchBase::reg);
    EXPECT_EQ(a.reg, reg(regs[n - 1])) << n;
    EXPECT_TRUE(a.derefs.empty());
  }
  auto a7 = one_arg("p f $arg7");
  EXPECT_EQ(a7.reg, reg(Gpr::rsp));
  EXPECT_EQ(a7.derefs, (std::vector<int64_t>{8}));
  EXPECT_EQ(one_arg("p f $arg9").derefs, (std::vector<int64_t>{24}));
  // A bare address may be a function entry: $argN is allowed there.
  EXPECT_EQ(one_arg("p 0x401000 $arg1").reg, reg(Gpr::rdi));

  auto byname = one_arg("p f $arg:buf:string");
  EXPECT_EQ(byname.base, FetchBase::arg_name);
  EXPECT_EQ(byname.text, "buf");
  EXPECT_EQ(byname.type.kind, TypeKind::string);
  EXPECT_EQ(one_arg("p f len=$arg:len").name, "len");
}

TEST(DefinitionArgs, RetvalCommImmediates) {
  auto r = one_arg("r f $retval:s32");
  EXPECT_EQ(r.reg, reg(Gpr::rax));
  EXPECT_EQ(r.type, (FetchType{TypeKind::signed_int, 4}));
  EXPECT_EQ(one_arg("p f%return $retval").reg, reg(Gpr::rax));

  auto c = one_arg("p f $comm");
  EXPECT_EQ(c.base, FetchBase::comm);
  EXPECT_EQ(c.type.kind, TypeKind::string);
  EXPECT_EQ(one_arg("p f $comm:string").type.kind, TypeKind::string);

  EXPECT_EQ(one_arg("p f \\123").immediate, 123u);
  EXPECT_EQ(one_arg("p f \\0x7b").immediate, 0x7bu);
  EXPECT_EQ(one_arg("p f \\-1").immediate, ~uint64_t{0});
  EXPECT_EQ(one_arg("p f \\0xffffffffffffffff").immediate, ~uint64_t{0});
  auto s = one_arg("p f msg=\\\"hello world\"");
  EXPECT_EQ(s.base, FetchBase::immediate_string);
  EXPECT_EQ(s.text, "hello world");
  EXPECT_EQ(s.name, "msg");
  EXPECT_EQ(s.type.kind, TypeKind::string);
}

TEST(DefinitionArgs, NestedDereferences) {
  auto a = one_arg("p f +8(%di)");
  EXPECT_EQ(a.reg, reg(Gpr::rdi));
  EXPECT_EQ(a.derefs, (std::vector<int64_t>{8}));
  EXPECT_EQ(one_arg("p f -8(%sp)").derefs, (std::vector<int64_t>{-8}));
  EXPECT_EQ(one_arg("p f +u8(%di)").derefs, (std::vector<int64_t>{8}));
  auto n = one_arg("p f +0(+8(+0x10(%si))):u32");
  EXPECT_EQ(n.reg, reg(Gpr::rsi));
  EXPECT_EQ(n.derefs, (std::vector<int64_t>{16, 8, 0}));
  EXPECT_EQ(n.type, (FetchType{TypeKind::unsigned_int, 4}));
  auto m = one_arg("p f +4(@0x1000)");
  EXPECT_EQ(m.immediate, 0x1000u);
  EXPECT_EQ(m.derefs, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(one_arg("p f +0($stack2)").derefs, (std::vector<int64_t>{16, 0}));
  EXPECT_EQ(one_arg("p f +0($arg8)").derefs, (std::vector<int64_t>{16, 0}));

  std::string deep = "p f ";
  for (int i = 0; i < 64; ++i) deep += "+1(";
  deep += "%di";
  for (int i = 0; i < 64; ++i) deep += ")";
  EXPECT_EQ(one_arg(deep).derefs.size(), 64u);
}

TEST(DefinitionErrors, ExactMessagesAndColumns) {
  struct Case {
    const char* text;
    int column;
    const char* message;
  };
  const Case cases[] = {
      {"p f $retval", 5, "'$retval' is only available in return probes ('r:')"},
      {"p f %di:u7", 9, "unknown type 'u7'"},
      {"p f %xyz", 5, "unknown register '%xyz'"},
      {"q f", 1, "unknown probe type 'q': use 'p' for an entry/offset probe, 'r' for a return probe or 'u' for a USDT probe"},
      {"p", 2, "missing probe location: expected [MODULE:]SYMBOL[+OFFS] or [MODULE:]0xADDR"},
      {"", 1, "empty probe definition"},
      {"p:1ev f", 3, "bad event name '1ev': use letters, digits and '_', not starting with a digit"},
      {"p:g-x/ev f", 3, "bad group name 'g-x'"},
      {"p: f", 3, "missing event name after ':'"},
      {"p5 f", 2, "MAXACTIVE '5' is only for return probes: write 'r5'"},
      {"r0 f", 2, "MAXACTIVE '0' is out of range: use 1 to 4096"},
      {"r5000 f", 2, "MAXACTIVE '5000' is out of range"},
      {"px f", 2, "unexpected 'x' after the probe type"},
      {"-:ev", 1, "removing events ('-:EVENT') is not supported"},
      {"p f+zz", 5, "invalid offset 'zz': write a number such as 16 or 0x10"},
      {"p f+", 5, "missing offset after '+'"},
      {"r f+4", 4, "return probes go on a function's entry: drop '+4' or use 'p'"},
      {"p f+4%return", 4, "return probes go on a function's entry"},
      {"p f%foo", 4, "unknown suffix '%foo': only '%return' is accepted"},
      {"p :f", 3, "empty module name before ':'"},
      {"p libc.so.6:", 13, "missing symbol or address after 'libc.so.6:'"},
      {"p 0x12zz", 3, "invalid address '0x12zz'"},
      {"p f +8%di)", 7, "expected '(' after the offset '+8': write +OFFS(FETCHARG)"},
      {"p f +8(%di", 11, "missing ')' to close the '(' at column 7"},
      {"p f +(%di)", 6, "missing offset after '+'"},
      {"p f +zz(%di)", 6, "invalid offset 'zz'"},
      {"p f %di)", 8, "unexpected ')' after '%di': expected ':TYPE' or the end of the argument"},
      {"p f %di:", 9, "missing type after ':'"},
      {"p f %di:u32[4]", 9, "array types such as 'u32[4]' are not supported"},
      {"p f %", 5, "missing register name after '%'"},
      {"p f $arg0", 5, "'$arg0' does not exist: arguments count from '$arg1'"},
      {"r f $arg1", 5, "'$arg1' is only available at a function's entry, not in return probes"},
      {"p f+4 $arg1", 7, "'$arg1' is only available at a function's entry: the probe is at 'f+4'; use registers instead"},
      {"r f $arg:len", 5, "'$arg:len' is only available at a function's entry"},
      {"p f $arg:", 10, "expected a parameter name after '$arg:'"},
      {"p f $foo", 5, "unknown variable '$foo'; expected $stack, $stackN, $argN, $arg:NAME, $retval or $comm"},
      {"p f x=%di x=%si", 11, "duplicate argument name 'x': give each argument its own NAME="},
      {"p f %di arg1=%si", 9, "duplicate argument name 'arg1'"},
      {"p f 1x=%di", 5, "bad argument name '1x'"},
      {"p f =%di", 5, "missing argument name before '='"},
      {"p f x=", 7, "missing fetch argument after 'x='"},
      {"p f foo", 5, "unknown fetch argument 'foo': expected [NAME=] and one of %REG"},
      {"p f $comm:u32", 11, "'$comm' is a string: drop ':u32' or write ':string'"},
      {"p f \\\"ab\":x8", 11, "an immediate string is a string: drop ':x8'"},
      {"p f +0($comm)", 8, "'$comm' is a string and cannot be dereferenced"},
      {"p f +0(\\\"s\")", 8, "an immediate string cannot be dereferenced"},
      {"p f \\\"abc", 6, "unterminated immediate string"},
      {"p f \\", 6, "missing value after '\\'"},
      {"p f \\12q!", 6, "invalid immediate '12q'"},
      {"p f @+8", 5, "file-offset fetches ('@+OFFSET') are not supported: use @ADDR or @SYMBOL"},
      {"p f @", 5, "expected an address or a symbol after '@'"},
      {"p f @0xzz", 6, "invalid address '0xzz'"},
      {"p f @sym+", 10, "invalid offset '' after '@sym'"},
      {"p f #", 5, "unknown fetch argument '#': expected [NAME=] and one of %REG"},
      {"p f x=&", 7, "unexpected '&': expected %REG, @ADDR"},
      {"p f x=#", 7, "unexpected '#'"},
  };
  for (const auto& c : cases) {
    Error e = err(c.text);
    EXPECT_EQ(col(e), c.column) << c.text << ": " << e.message();
    EXPECT_THAT(e.message(), StartsWith(c.message)) << c.text;
    EXPECT_EQ(e.kind(), ErrorKind::parse) << c.text;
  }
}

TEST(DefinitionErrors, Suggestions) {
  EXPECT_THAT(err("p f %rdz").message(), HasSubstr("'%rdx'"));
  EXPECT_THAT(err("p f %di:u7").message(), HasSubstr("did you mean 'u8'"));
  EXPECT_THAT(err("p f %di:strng").message(), HasSubstr("'string'"));
  EXPECT_THAT(err("p f $retvl").message(), HasSubstr("'$retval'"));
}

TEST(DefinitionErrors, RangeCarriesFileLineAndLength) {
  ParseOptions opts;
  opts.file = "<definition 2>";
  opts.line = 2;
  auto d = parse_definition("p f %xyz:u8", opts);
  ASSERT_FALSE(d.ok());
  ASSERT_TRUE(d.error().range().has_value());
  EXPECT_EQ(d.error().range()->file, "<definition 2>");
  EXPECT_EQ(d.error().range()->line, 2);
  EXPECT_EQ(d.error().range()->column, 5);
  EXPECT_EQ(d.error().range()->length, 4);
}

TEST(DefinitionErrors, AllErrorsAreCollected) {
  std::vector<Error> errors;
  auto d = parse_definition("p f %xyz $retval ok=%di %di:u7", {}, &errors);
  ASSERT_FALSE(d.ok());
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(col(errors[0]), 5);
  EXPECT_EQ(col(errors[1]), 10);
  EXPECT_EQ(col(errors[2]), 29);
  EXPECT_EQ(d.error().message(), errors[0].message());
}

TEST(DefinitionErrors, NestingLimit) {
  std::string deep = "p f ";
  for (int i = 0; i < 65; ++i) deep += "+1(";
  deep += "%di";
  for (int i = 0; i < 65; ++i) deep += ")";
  Error e = err(deep);
  EXPECT_EQ(col(e), 5 + 64 * 3);
  EXPECT_EQ(e.message(), "dereferences nested too deeply: at most 64 levels");
}

TEST(DefinitionErrors, TooManyArguments) {
  std::string text = "p f";
  for (int i = 0; i < 129; ++i) text += " %di";
  Error e = err(text);
  EXPECT_EQ(col(e), 4 + 128 * 4 + 1);
  EXPECT_EQ(e.message(), "too many fetch arguments: at most 128");
}

TEST(DefinitionUsdt, ShortAndLongFormsNameTheNotesProbe) {
  auto d = ok("u:a.out:python:function__entry file=$arg1:string $arg3");
  EXPECT_TRUE(d.usdt);
  EXPECT_EQ(d.kind, ProbeKind::entry);
  EXPECT_EQ(d.module, "a.out");
  EXPECT_EQ(d.usdt_provider, "python");
  EXPECT_EQ(d.usdt_name, "function__entry");
  EXPECT_EQ(d.full_name(), "sdt_python/function__entry");
  EXPECT_EQ(d.location_text(), "a.out:python:function__entry");
  ASSERT_EQ(d.args.size(), 2u);
  EXPECT_EQ(d.args[0].base, FetchBase::arg_name);  // lowered from the note by the CLI
  EXPECT_EQ(d.args[0].text, "1");
  EXPECT_EQ(d.args[0].type.kind, TypeKind::string);
  EXPECT_EQ(d.args[1].text, "3");
  EXPECT_EQ(d.args[1].name, "arg2");

  auto named = ok("u:app/entries /usr/lib/libx.so.1:pklib:function-entry");
  EXPECT_EQ(named.full_name(), "app/entries");
  EXPECT_EQ(named.module, "/usr/lib/libx.so.1");
  EXPECT_EQ(named.usdt_name, "function-entry");
  EXPECT_EQ(ok("u:ev a.out:p:n").full_name(), "sdt_p/ev");
  EXPECT_EQ(ok("u a.out:p:n-x").full_name(), "sdt_p/n_x");
}

TEST(DefinitionUsdt, MalformedLocationsAreRefusedWithTheSpelling) {
  EXPECT_THAT(err("u:a.out:python").message(),
              HasSubstr("a USDT probe is named MODULE:PROVIDER:NAME ('a.out:python:function__entry'), not 'a.out:python'"));
  EXPECT_THAT(err("u a.out::n").message(), HasSubstr("MODULE:PROVIDER:NAME"));
  EXPECT_THAT(err("u2:a.out:p:n").message(), HasSubstr("MAXACTIVE is only for return probes"));
  EXPECT_THAT(err("x:a.out:p:n").message(), HasSubstr("'u' for a USDT probe"));
}
