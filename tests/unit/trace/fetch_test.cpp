#include "trace/fetch.h"

#include <gtest/gtest.h>

#include "fake_hit_context.h"

using namespace probekit;
using namespace probekit::trace;
using probekit::testing::FakeHitContext;

namespace {

class FetchTest : public ::testing::Test {
protected:
  void SetUp() override {
    ctx.regs_.rdi = 0x1000;
    ctx.regs_.rsi = 0xfffffffffffffffe;  // -2
    ctx.regs_.rdx = 0x12345678abcdef01;
    ctx.regs_.rcx = 0x7;
    ctx.regs_.r8 = 8;
    ctx.regs_.r9 = 9;
    ctx.regs_.rax = 0xffffffff;
    ctx.regs_.rsp = 0x7000;
    ctx.regs_.rip = 0x401136;
    ctx.regs_.eflags = 0x246;
    // A struct at 0x1000: {u64 a = 0x2000 (pointer to a string); u32 b = 0xfffffff0; ...}
    std::vector<uint8_t> obj(32, 0);
    uint64_t p = 0x2000;
    std::memcpy(obj.data(), &p, 8);
    uint32_t b = 0xfffffff0;
    std::memcpy(obj.data() + 8, &b, 4);
    uint64_t fnptr = 0x401150;
    std::memcpy(obj.data() + 16, &fnptr, 8);
    uint64_t bad = 0xdead0000;  // points into a hole
    std::memcpy(obj.data() + 24, &bad, 8);
    ctx.map(0x1000, obj);
    ctx.map_string(0x2000, "hello");
    ctx.map_string(0x2100, "tab\there\nq\"\x01\xff");
    // The stack at entry: return address, then the 7th and 8th arguments.
    std::vector<uint8_t> stack(32, 0);
    uint64_t words[4] = {0x401234, 77, 88, 99};
    std::memcpy(stack.data(), words, 32);
    ctx.map(0x7000, stack);
    ctx.map_u64(0x601040, 42);
    ctx.symbols = {{"counter", 0x601040}, {"main", 0x401100}, {"work", 0x401130}, {"callback", 0x401150}};
  }

  std::string eval(std::string_view args, bool ret = false) {
    auto d = parse_definition(std::string(ret ? "r f " : "p f ") + std::string(args));
    EXPECT_TRUE(d.ok()) << args << ": " << (d ? "" : d.error().message());
    if (!d || d->args.size() != 1) return "<parse>";
    auto v = evaluate(d->args[0], ctx);
    EXPECT_TRUE(v.ok()) << args << ": " << (v ? "" : v.error().message());
    return v ? *v : "<error>";
  }

  std::string json(std::string_view args) {
    auto d = parse_definition("p f " + std::string(args));
    if (!d) return "<parse>";
    auto v = fetch(d->args[0], ctx);
    return v ? v->json() : "<error>";
  }

  FakeHitContext ctx;
};

}  // namespace

TEST_F(FetchTest, RegistersWithDefaultAndExplicitTypes) {
  EXPECT_EQ(eval("%di"), "0x1000");
  EXPECT_EQ(eval("%si"), "0xfffffffffffffffe");
  EXPECT_EQ(eval("%si:s64"), "-2");
  EXPECT_EQ(eval("%si:s32"), "-2");
  EXPECT_EQ(eval("%si:s8"), "-2");
  EXPECT_EQ(eval("%si:u8"), "254");
  EXPECT_EQ(eval("%si:u16"), "65534");
  EXPECT_EQ(eval("%si:u64"), "18446744073709551614");
  EXPECT_EQ(eval("%dx:x32"), "0xabcdef01");
  EXPECT_EQ(eval("%dx:x16"), "0xef01");
  EXPECT_EQ(eval("%dx:x8"), "0x1");
  EXPECT_EQ(eval("%edx"), "0xabcdef01");
  EXPECT_EQ(eval("%dh"), "0xef");
  EXPECT_EQ(eval("%dl:u8"), "1");
  EXPECT_EQ(eval("%dx:b4@4/8"), "0");
  EXPECT_EQ(eval("%dx:b8@56/64"), "18");  // 0x12
  EXPECT_EQ(eval("%eax:s32"), "-1");
  EXPECT_EQ(eval("%ax:u32"), "4294967295");
  EXPECT_EQ(eval("%ip"), "0x401136");
  EXPECT_EQ(eval("%flags:x16"), "0x246");
  EXPECT_EQ(eval("%ip:symbol"), "work+0x6");
}

TEST_F(FetchTest, ArgumentsByPositionAndTheStack) {
  EXPECT_EQ(eval("$arg1"), "0x1000");
  EXPECT_EQ(eval("$arg2:s32"), "-2");
  EXPECT_EQ(eval("$arg4:u32"), "7");
  EXPECT_EQ(eval("$arg5:u8"), "8");
  EXPECT_EQ(eval("$arg6:u8"), "9");
  EXPECT_EQ(eval("$arg7:u64"), "77");
  EXPECT_EQ(eval("$arg8:u32"), "88");
  EXPECT_EQ(eval("$arg9:s16"), "99");
  EXPECT_EQ(eval("$arg10"), "(fault)");  // past the mapped stack
  EXPECT_EQ(eval("$stack"), "0x7000");
  EXPECT_EQ(eval("$stack0:symbol"), "callback+0xe4");  // 0x401234
  EXPECT_EQ(eval("$stack1:u64"), "77");
  EXPECT_EQ(eval("$stack3:u64"), "99");
  EXPECT_EQ(eval("$retval:s32", true), "-1");
  EXPECT_EQ(eval("$retval", true), "0xffffffff");
}

TEST_F(FetchTest, Dereferences) {
  EXPECT_EQ(eval("+0(%di)"), "0x2000");
  EXPECT_EQ(eval("+8(%di):u32"), "4294967280");
  EXPECT_EQ(eval("+8(%di):s32"), "-16");
  EXPECT_EQ(eval("+8(%di):x8"), "0xf0");
  EXPECT_EQ(eval("+0(%di):string"), "\"\"");  // 0x1000 starts with 0x00 (the low byte of 0x2000)
  EXPECT_EQ(eval("+0(+0(%di)):string"), "\"hello\"");
  EXPECT_EQ(eval("+1(+0(%di)):string"), "\"ello\"");
  EXPECT_EQ(eval("+0(+0(%di)):u8"), "104");  // 'h'
  EXPECT_EQ(eval("+16(%di):symbol"), "callback+0x0");
  ctx.regs_.rbx = 0x1010;
  EXPECT_EQ(eval("-8(%bx):s32"), "-16");
  EXPECT_EQ(eval("-16(%bx)"), "0x2000");
  EXPECT_EQ(eval("+0(%sp):u64"), "4198964");  // 0x401234, the return address
  EXPECT_EQ(eval("+0(+24(%di))"), "(fault)");
  EXPECT_EQ(eval("+0(+0(+24(%di)))"), "(fault)");
  EXPECT_EQ(eval("+0(%si)"), "(fault)");
  EXPECT_EQ(eval("+0(+24(%di)):string"), "(fault)");
}

TEST_F(FetchTest, StringsAreQuotedLikeTheKernelWithControlBytesEscaped) {
  EXPECT_EQ(eval("%di:string"), "\"\"");
  ctx.regs_.rdi = 0x2000;
  EXPECT_EQ(eval("%di:string"), "\"hello\"");
  EXPECT_EQ(eval("%di:ustring"), "\"hello\"");
  ctx.regs_.rdi = 0x2100;
  EXPECT_EQ(eval("%di:string"), "\"tab\\there\\nq\"\\x01\\xff\"");
  ctx.regs_.rdi = 0x5000;
  EXPECT_EQ(eval("%di:string"), "(fault)");
}

TEST_F(FetchTest, MemoryAndSymbols) {
  EXPECT_EQ(eval("@0x601040:u32"), "42");
  EXPECT_EQ(eval("@0x601044:u32"), "0");
  EXPECT_EQ(eval("@0x601048"), "(fault)");
  EXPECT_EQ(eval("@0x601044"), "(fault)");  // only 4 of 8 bytes mapped
  EXPECT_EQ(eval("@counter:u64"), "42");
  EXPECT_EQ(eval("@counter+4:u32"), "0");
  EXPECT_EQ(eval("@counter-8:s64"), "(fault)");
  ctx.map_u64(0x601038, static_cast<uint64_t>(-8192));
  EXPECT_EQ(eval("@counter-8:s64"), "-8192");
  auto d = parse_definition("p f @missing");
  auto missing = evaluate(d->args[0], ctx);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::no_such_symbol);
  EXPECT_EQ(missing.error().message(), "no symbol 'missing' in the target");
}

TEST_F(FetchTest, CommAndImmediates) {
  EXPECT_EQ(eval("$comm"), "\"worker\"");
  EXPECT_EQ(eval("\\123:u32"), "123");
  EXPECT_EQ(eval("\\-5:s32"), "-5");
  EXPECT_EQ(eval("\\0x10"), "0x10");
  EXPECT_EQ(eval("\\\"a b\""), "\"a b\"");
  EXPECT_EQ(eval("+0(\\0x601040):u64"), "42");
  EXPECT_EQ(eval("\\0x401131:symbol"), "work+0x1");
}

TEST_F(FetchTest, JsonValues) {
  EXPECT_EQ(json("%si:s32"), "-2");
  EXPECT_EQ(json("%si"), "18446744073709551614");
  EXPECT_EQ(json("%dx:u8"), "1");
  EXPECT_EQ(json("$comm"), "\"worker\"");
  EXPECT_EQ(json("+0(%si)"), "null");
  EXPECT_EQ(json("%ip:symbol"), "\"work+0x6\"");
  ctx.regs_.rdi = 0x2100;
  EXPECT_EQ(json("%di:string"), "\"tab\\there\\nq\\\"\\u0001\\u00ff\"");
}

TEST_F(FetchTest, TypedValues) {
  auto d = parse_definition("p f %si:s32 %dx:u16 $comm +0(%si) %ip:symbol");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*evaluate_value(d->args[0], ctx), static_cast<uint64_t>(-2));
  EXPECT_EQ(*evaluate_value(d->args[1], ctx), 0xef01u);
  auto s = evaluate_value(d->args[2], ctx);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "'arg3' is a string, not a number");
  auto f = evaluate_value(d->args[3], ctx);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind(), ErrorKind::bad_address);
  EXPECT_EQ(f.error().message(), "cannot read memory at 0xfffffffffffffffe");
  EXPECT_EQ(*evaluate_value(d->args[4], ctx), 0x401136u);
}

TEST_F(FetchTest, SymbolLookupsAreCachedPerFetcher) {
  auto d = parse_definition("p f a=@counter:u32 b=@counter+4:u32 c=@missing");
  ASSERT_TRUE(d.ok());
  auto f = EventFetcher::make(*d);
  ASSERT_TRUE(f.ok());
  for (int i = 0; i < 3; ++i) {
    auto vals = f->fetch_all(ctx);
    ASSERT_EQ(vals.size(), 3u);
    EXPECT_EQ(vals[0].name, "a");
    EXPECT_EQ(vals[0].value.text(), "42");
    EXPECT_EQ(vals[1].value.text(), "0");
    EXPECT_EQ(vals[2].value.kind, FetchedValue::Kind::fault);
    EXPECT_EQ(vals[2].value.text(), "(fault)");
    EXPECT_EQ(vals[2].value.str, "no symbol 'missing' in the target");
  }
  EXPECT_EQ(ctx.lookups, 2);  // "counter" once, "missing" once
  f->clear_cache();
  (void)f->fetch_all(ctx);
  EXPECT_EQ(ctx.lookups, 4);
  // Without a cache every fetch looks up.
  (void)fetch(d->args[0], ctx);
  EXPECT_EQ(ctx.lookups, 5);
}

TEST_F(FetchTest, ArgByNameNeedsAResolver) {
  auto d = parse_definition("p libc.so.6:write n=$arg:count:u32");
  ASSERT_TRUE(d.ok());
  auto none = EventFetcher::make(*d);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message(),
            "'$arg:count' needs debug info: no DWARF is available for 'write'; use $argN or a register");
  EXPECT_EQ(none.error().range()->column, 19);
  EXPECT_EQ(none.error().range()->length, 16);
  ParseOptions opts;
  opts.file = "<definition 3>";
  opts.line = 3;
  auto third = parse_definition("p write $arg:count", opts);
  auto e3 = EventFetcher::make(*third);
  ASSERT_FALSE(e3.ok());
  EXPECT_EQ(e3.error().range()->file, "<definition 3>");
  EXPECT_EQ(e3.error().range()->line, 3);
  EXPECT_EQ(e3.error().range()->column, 9);
  auto direct = evaluate(d->args[0], ctx);
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.error().kind(), ErrorKind::unsupported);
}

TEST_F(FetchTest, ArgByNameResolvedToRegisterAndMemory) {
  auto d = parse_definition("p f buf=$arg:buf n=$arg:n big=$arg:big:x64 first=+0($arg:buf):u8");
  ASSERT_TRUE(d.ok());
  std::vector<std::string> asked;
  ArgResolver resolver = [&](const std::string& name) -> Result<ArgLocation> {
    asked.push_back(name);
    if (name == "buf") return ArgLocation{ArgLocationKind::in_register, RegisterRef{Gpr::rdi}, 0, FetchType{TypeKind::hex, 8}};
    if (name == "n") return ArgLocation{ArgLocationKind::in_register, RegisterRef{Gpr::rsi}, 0, FetchType{TypeKind::signed_int, 4}};
    if (name == "big") return ArgLocation{ArgLocationKind::in_memory, RegisterRef{Gpr::rsp}, 8, FetchType{TypeKind::unsigned_int, 8}};
    return Error("no parameter '" + name + "'", ErrorKind::no_such_symbol);
  };
  auto f = EventFetcher::make(*d, resolver);
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(asked, (std::vector<std::string>{"buf", "n", "big", "buf"}));
  auto vals = f->fetch_all(ctx);
  ASSERT_EQ(vals.size(), 4u);
  EXPECT_EQ(vals[0].value.text(), "0x1000");
  EXPECT_EQ(vals[1].value.text(), "-2");     // DWARF said int
  EXPECT_EQ(vals[2].value.text(), "0x4d");   // explicit x64 beats DWARF's u64; 77 at rsp+8
  EXPECT_EQ(vals[3].value.text(), "0");      // first byte at 0x1000, typed by :u8 not DWARF
  EXPECT_EQ(f->definition().args[0].base, FetchBase::reg);

  auto bad = parse_definition("p f $arg:nope");
  auto e = EventFetcher::make(*bad, resolver);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(), "no parameter 'nope'");
  EXPECT_EQ(e.error().range()->column, 5);
}

TEST(Registers, DwarfNumbers) {
  EXPECT_EQ(register_from_dwarf(0)->reg, Gpr::rax);
  EXPECT_EQ(register_from_dwarf(1)->reg, Gpr::rdx);
  EXPECT_EQ(register_from_dwarf(4)->reg, Gpr::rsi);
  EXPECT_EQ(register_from_dwarf(5)->reg, Gpr::rdi);
  EXPECT_EQ(register_from_dwarf(7)->reg, Gpr::rsp);
  EXPECT_EQ(register_from_dwarf(15)->reg, Gpr::r15);
  EXPECT_EQ(register_from_dwarf(16)->reg, Gpr::rip);
  EXPECT_FALSE(register_from_dwarf(17));
  EXPECT_FALSE(register_from_dwarf(-1));
}

namespace {
uint64_t double_bits(double d) {
  uint64_t b = 0;
  std::memcpy(&b, &d, sizeof b);
  return b;
}
uint64_t float_bits(float f) {
  uint32_t b = 0;
  std::memcpy(&b, &f, sizeof b);
  return 0xdeadbeef00000000ull | b;  // the upper half of a float's register is not the float's
}
}  // namespace

TEST(Registers, XmmNamesAndDwarfNumbers) {
  EXPECT_EQ(find_xmm_register("xmm0"), uint8_t{0});
  EXPECT_EQ(find_xmm_register("xmm15"), uint8_t{15});
  EXPECT_FALSE(find_xmm_register("xmm16"));
  EXPECT_FALSE(find_xmm_register("xmm01"));
  EXPECT_FALSE(find_xmm_register("xmm"));
  EXPECT_FALSE(find_xmm_register("ymm0"));
  EXPECT_EQ(xmm_from_dwarf(17), uint8_t{0});
  EXPECT_EQ(xmm_from_dwarf(32), uint8_t{15});
  EXPECT_FALSE(xmm_from_dwarf(33));
  EXPECT_FALSE(xmm_from_dwarf(16));
  user_fpregs_struct fp{};
  fp.xmm_space[4 * 3] = 0x89abcdef;
  fp.xmm_space[4 * 3 + 1] = 0x01234567;
  fp.xmm_space[4 * 3 + 2] = 0xffffffff;  // the upper 64 bits are not read
  EXPECT_EQ(read_xmm_register(fp, 3), 0x0123456789abcdefull);
}

TEST_F(FetchTest, FloatTypesAndXmmRegisters) {
  ctx.set_xmm(0, double_bits(2.5));
  ctx.set_xmm(1, double_bits(-0.1));
  ctx.set_xmm(2, float_bits(0.1f));
  ctx.set_xmm(15, double_bits(1e100));
  ctx.set_xmm(3, double_bits(1.0 / 0.0));
  EXPECT_EQ(eval("%xmm0:f64"), "2.5");
  EXPECT_EQ(eval("%xmm1:f64"), "-0.1");
  EXPECT_EQ(eval("%xmm2:f32"), "0.1");  // the float's own shortest text, not 0.10000000149011612
  EXPECT_EQ(eval("%xmm15:f64"), "1e+100");
  EXPECT_EQ(eval("%xmm3:f64"), "inf");
  EXPECT_EQ(eval("%xmm0"), "0x4004000000000000");  // the bits, as x64 by default
  EXPECT_EQ(eval("%xmm2:x32"), "0x3dcccccd");
  EXPECT_EQ(json("%xmm0:f64"), "2.5");
  EXPECT_EQ(json("%xmm1:f64"), "-0.1");
  EXPECT_EQ(json("%xmm3:f64"), "null");  // JSON has no infinity
  // A double in memory: 77 at rsp+8 is an integer, so write one.
  ctx.map_u64(0x8000, double_bits(-3.75));
  EXPECT_EQ(eval("@0x8000:f64"), "-3.75");
  EXPECT_EQ(eval("%sp:f64"), "1.4166e-319");  // f64 of a register: its bits (0x7000), a denormal
  auto d = parse_definition("p f %xmm0:f32");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->args[0].base, FetchBase::xmm);
  EXPECT_EQ(d->args[0].type.name(), "f32");
  EXPECT_EQ(FetchType::parse("f64")->name(), "f64");
  EXPECT_FALSE(FetchType::parse("f16"));
}

TEST_F(FetchTest, XmmWithoutFpStateIsAFault) {
  auto d = parse_definition("p f x=%xmm0:f64 y=%di");
  ASSERT_TRUE(d.ok());
  auto f = EventFetcher::make(*d);
  ASSERT_TRUE(f.ok());
  auto vals = f->fetch_all(ctx);
  ASSERT_EQ(vals.size(), 2u);
  EXPECT_EQ(vals[0].value.kind, FetchedValue::Kind::fault);
  EXPECT_EQ(vals[0].value.text(), "(fault)");
  EXPECT_EQ(vals[0].value.str, "cannot read the SSE registers: no fpregs");
  EXPECT_EQ(vals[1].value.text(), "0x1000");
}

TEST_F(FetchTest, ArgByNameInAnXmmRegister) {
  ctx.set_xmm(1, double_bits(6.25));
  auto d = parse_definition("p f d=$arg:d bits=$arg:d:x64");
  ASSERT_TRUE(d.ok());
  ArgResolver resolver = [](const std::string&) -> Result<ArgLocation> {
    ArgLocation loc{ArgLocationKind::in_xmm, RegisterRef{}, 0, FetchType{TypeKind::floating, 8}};
    loc.xmm = 1;
    return loc;
  };
  auto f = EventFetcher::make(*d, resolver);
  ASSERT_TRUE(f.ok()) << f.error().message();
  auto vals = f->fetch_all(ctx);
  EXPECT_EQ(vals[0].value.text(), "6.25");
  EXPECT_EQ(vals[1].value.text(), "0x4019000000000000");
  EXPECT_EQ(f->definition().args[0].base, FetchBase::xmm);
  EXPECT_EQ(f->definition().args[0].xmm, 1);
}

TEST_F(FetchTest, StringParameterOnTheStackIsFollowed) {
  // The 7th argument slot (rsp+8) holds a pointer to "hello".
  ctx.map_u64(0x7008, 0x2000);
  auto d = parse_definition("p f s=$arg:s raw=$arg:s:x64");
  ASSERT_TRUE(d.ok());
  ArgResolver resolver = [](const std::string&) -> Result<ArgLocation> {
    return ArgLocation{ArgLocationKind::in_memory, RegisterRef{Gpr::rsp}, 8, FetchType{TypeKind::string, 0}};
  };
  auto f = EventFetcher::make(*d, resolver);
  ASSERT_TRUE(f.ok()) << f.error().message();
  auto vals = f->fetch_all(ctx);
  EXPECT_EQ(vals[0].value.text(), "\"hello\"");
  EXPECT_EQ(vals[1].value.text(), "0x2000");
  EXPECT_EQ(f->definition().args[0].derefs, (std::vector<int64_t>{8, 0}));
}
