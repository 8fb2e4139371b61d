// DebugInfo against fixtures whose calling conventions are known (the
// expected locations were checked against the -O0 code, which spills each
// argument register in its prologue).
#include "dwarf/debug_info.h"

#include <gtest/gtest.h>

#include "elf/elf_file.h"

#include <string>
#include <vector>

namespace probekit::dwarf {
namespace {

const std::string kFx = PK_DWARF_FIXTURES;
const std::string kNoRoot = "/nonexistent-debug-root";

std::string loc(const ArgLocation& l) {
  auto one = [](ArgLocation::Kind k, int i) {
    switch (k) {
      case ArgLocation::Kind::gpr: return "gpr" + std::to_string(i);
      case ArgLocation::Kind::xmm: return "xmm" + std::to_string(i);
      case ArgLocation::Kind::stack: return "stack" + std::to_string(i);
    }
    return std::string("?");
  };
  std::string s = one(l.kind, l.index);
  if (l.index2 >= 0) s += "," + one(l.kind2, l.index2);
  return s;
}

const char* cls(TypeClass c) {
  switch (c) {
    case TypeClass::signed_int: return "signed_int";
    case TypeClass::unsigned_int: return "unsigned_int";
    case TypeClass::boolean: return "boolean";
    case TypeClass::character: return "character";
    case TypeClass::pointer: return "pointer";
    case TypeClass::string: return "string";
    case TypeClass::floating: return "floating";
    case TypeClass::enumeration: return "enumeration";
    case TypeClass::structure: return "structure";
    case TypeClass::other: return "other";
    case TypeClass::void_: return "void";
  }
  return "?";
}

// "name: type (class, size) @ location" for each parameter.
std::vector<std::string> describe(const Function& f) {
  std::vector<std::string> out;
  for (const Parameter& p : f.params) {
    out.push_back(p.name + ": " + p.type.name + " (" + cls(p.type.cls) + ", " + std::to_string(p.type.size) +
                  ") @ " + loc(p.location));
  }
  return out;
}

std::unique_ptr<DebugInfo> open_ok(const std::string& name) {
  auto d = DebugInfo::open(kFx + "/" + name, kNoRoot);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message());
  return d.ok() ? std::move(*d) : nullptr;
}

using Lines = std::vector<std::string>;

class Params : public ::testing::TestWithParam<const char*> {};

TEST_P(Params, EightIntegerArgumentsFillTheRegistersThenTheStack) {
  auto d = open_ok(GetParam());
  ASSERT_TRUE(d);
  const Function* f = d->function("eight_ints");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(describe(*f), (Lines{
                              "a: int (signed_int, 4) @ gpr0",
                              "b: long (signed_int, 8) @ gpr1",
                              "c: short (signed_int, 2) @ gpr2",
                              "d: char (character, 1) @ gpr3",
                              "e: unsigned int (unsigned_int, 4) @ gpr4",
                              "f: long long (signed_int, 8) @ gpr5",
                              "g: int (signed_int, 4) @ stack8",
                              "h: int (signed_int, 4) @ stack16",
                          }));
  EXPECT_EQ(f->return_type.name, "long");
  EXPECT_FALSE(f->varargs);
  EXPECT_FALSE(f->returns_in_memory);
  EXPECT_FALSE(f->clone);
  EXPECT_EQ(f->decl_file, std::string(PK_DWARF_SOURCE_DIR) + "/data/params.c");
  EXPECT_EQ(f->decl_line, 15);
}

TEST_P(Params, StringsAndFloatingPoint) {
  auto d = open_ok(GetParam());
  ASSERT_TRUE(d);
  const Function* f = d->function("greet");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(describe(*f), (Lines{
                              "name: const char * (string, 8) @ gpr0",
                              "x: double (floating, 8) @ xmm0",
                              "y: float (floating, 4) @ xmm1",
                              "z: double (floating, 8) @ xmm2",
                          }));
  const Function* many = d->function("many_doubles");
  ASSERT_NE(many, nullptr);
  Lines expected;
  for (int i = 0; i < 8; ++i) expected.push_back("a" + std::to_string(i) + ": double (floating, 8) @ xmm" + std::to_string(i));
  expected.push_back("a8: double (floating, 8) @ stack8");
  expected.push_back("a9: float (floating, 4) @ stack16");
  EXPECT_EQ(describe(*many), expected);
  EXPECT_EQ(many->return_type.name, "void");
  EXPECT_EQ(many->return_type.cls, TypeClass::void_);
}

TEST_P(Params, LargeStructsGoToMemory) {
  auto d = open_ok(GetParam());
  ASSERT_TRUE(d);
  const Function* take = d->function("take_big");
  ASSERT_NE(take, nullptr);
  EXPECT_EQ(describe(*take), (Lines{
                                 "a: int (signed_int, 4) @ gpr0",
                                 "b: struct big (structure, 24) @ stack8",
                                 "d: double (floating, 8) @ xmm0",
                                 "e: int (signed_int, 4) @ gpr1",
                             }));
  const Function* make = d->function("make_big");
  ASSERT_NE(make, nullptr);
  EXPECT_TRUE(make->returns_in_memory);
  EXPECT_EQ(make->return_type.name, "struct big");
  EXPECT_EQ(make->return_type.cls, TypeClass::structure);
  EXPECT_EQ(make->return_type.size, 24u);
  EXPECT_EQ(describe(*make), (Lines{"a: int (signed_int, 4) @ gpr1"}));  // rdi holds the result pointer

  const Function* ld = d->function("with_long_double");
  ASSERT_NE(ld, nullptr);
  EXPECT_EQ(describe(*ld), (Lines{
                               "v: long double (floating, 16) @ stack8",
                               "a: int (signed_int, 4) @ gpr0",
                           }));
  EXPECT_FALSE(ld->returns_in_memory);  // long double comes back in st0
}

TEST_P(Params, SmallStructsSplitIntoEightbytes) {
  auto d = open_ok(GetParam());
  ASSERT_TRUE(d);
  const Function* f = d->function("mixed");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(describe(*f), (Lines{
                              "s: small_t (structure, 16) @ gpr0,xmm0",
                              "p: struct pair (structure, 16) @ gpr1,gpr2",
                              "c: enum color (enumeration, 4) @ gpr3",
                              "flag: _Bool (boolean, 1) @ gpr4",
                              "buf: unsigned char * (string, 8) @ gpr5",
                              "cp: char * const (string, 8) @ stack8",
                              "n: size_t (unsigned_int, 8) @ stack16",
                          }));
  EXPECT_EQ(f->return_type.name, "double");

  // A two-register struct that no longer fits goes to the stack whole, and a
  // later scalar still takes the register it left free.
  const Function* mix = d->function("stack_mix");
  ASSERT_NE(mix, nullptr);
  EXPECT_EQ(describe(*mix), (Lines{
                                "a: long (signed_int, 8) @ gpr0",
                                "b: long (signed_int, 8) @ gpr1",
                                "c: long (signed_int, 8) @ gpr2",
                                "d: long (signed_int, 8) @ gpr3",
                                "e: long (signed_int, 8) @ gpr4",
                                "six: struct pair (structure, 16) @ stack8",
                                "g: long (signed_int, 8) @ gpr5",
                                "h: struct pair (structure, 16) @ stack24",
                            }));
}

TEST_P(Params, VarargsAndPointerSpellings) {
  auto d = open_ok(GetParam());
  ASSERT_TRUE(d);
  const Function* p = d->function("print_like");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->varargs);
  EXPECT_EQ(describe(*p), (Lines{"fmt: const char * (string, 8) @ gpr0"}));
  const Function* f = d->function("fn_ptr");
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->varargs);
  EXPECT_EQ(describe(*f), (Lines{
                              "cb: int (*)(int, const char *) (pointer, 8) @ gpr0",
                              "opaque: void * (pointer, 8) @ gpr1",
                              "bp: const struct big * (pointer, 8) @ gpr2",
                          }));
}

TEST_P(Params, FunctionAtAndSourceLine) {
  auto d = open_ok(GetParam());
  ASSERT_TRUE(d);
  const Function* greet = d->function("greet");
  ASSERT_NE(greet, nullptr);
  EXPECT_GT(greet->high_pc, greet->low_pc);
  EXPECT_EQ(d->function_at(greet->low_pc), greet);
  EXPECT_EQ(d->function_at(greet->low_pc + 1), nullptr);
  auto line = d->source_line(greet->low_pc);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->first, std::string(PK_DWARF_SOURCE_DIR) + "/data/params.c");
  EXPECT_EQ(line->second, 16);
  EXPECT_FALSE(d->source_line(0x7fff00000000).has_value());
  // An ELF alias of greet, unknown to DWARF, resolves through the symbol table.
  EXPECT_EQ(d->function("greet_alias"), greet);
  EXPECT_EQ(d->function("no_such_function"), nullptr);
  EXPECT_TRUE(d->functions("no_such_function").empty());
}

INSTANTIATE_TEST_SUITE_P(OptLevels, Params,
                         ::testing::Values("dwarf_fx_params", "dwarf_fx_params_o2", "dwarf_fx_params.stripped",
                                           "dwarf_fx_params.zdebug"));

TEST(DebugInfo, OptimizerClonesAreMarked) {
  auto d = open_ok("dwarf_fx_params_o2");
  ASSERT_TRUE(d);
  const Function* scale = d->function("scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_TRUE(scale->clone);  // scale.constprop.0
  const Function* use = d->function("use_scale");
  ASSERT_NE(use, nullptr);
  EXPECT_FALSE(use->clone);

  auto o0 = open_ok("dwarf_fx_params");
  ASSERT_TRUE(o0);
  const Function* scale0 = o0->function("scale");
  ASSERT_NE(scale0, nullptr);
  EXPECT_FALSE(scale0->clone);
}

TEST(DebugInfo, SeparateDebugFileByDebuglink) {
  auto d = open_ok("dwarf_fx_params.stripped");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->dwarf_file(), kFx + "/dwarf_fx_params.debug");
  auto direct = open_ok("dwarf_fx_params");
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->dwarf_file(), kFx + "/dwarf_fx_params");
  ASSERT_EQ(d->all_functions().size(), direct->all_functions().size());
  for (size_t i = 0; i < d->all_functions().size(); ++i) {
    EXPECT_EQ(d->all_functions()[i].name, direct->all_functions()[i].name);
    EXPECT_EQ(d->all_functions()[i].low_pc, direct->all_functions()[i].low_pc);
  }
}

TEST(DebugInfo, CxxMethodsOverloadsAndReferences) {
  auto d = open_ok("dwarf_fx_methods");
  ASSERT_TRUE(d);
  const Function* add = d->function("geo::Counter::add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->name, "add");
  EXPECT_EQ(add->linkage_name, "_ZN3geo7Counter3addEid");
  EXPECT_EQ(d->function("_ZN3geo7Counter3addEid"), add);
  EXPECT_EQ(describe(*add), (Lines{
                                "this: Counter * const (pointer, 8) @ gpr0",
                                "k: int (signed_int, 4) @ gpr1",
                                "scale: double (floating, 8) @ xmm0",
                            }));
  EXPECT_EQ(add->decl_line, 17);  // the out-of-class definition, not the declaration

  auto areas = d->functions("geo::area");
  ASSERT_EQ(areas.size(), 2u);
  EXPECT_EQ(describe(*areas[0]), (Lines{"p: const Point & (pointer, 8) @ gpr0"}));
  EXPECT_EQ(describe(*areas[1]), (Lines{"r: double (floating, 8) @ xmm0"}));
  EXPECT_EQ(areas[0]->return_type.name, "int");
  EXPECT_EQ(areas[1]->return_type.name, "double");
}

TEST(DebugInfo, CxxNonTrivialClassesArePassedByReference) {
  auto d = open_ok("dwarf_fx_methods");
  ASSERT_TRUE(d);
  const Function* length = d->function("geo::length");
  ASSERT_NE(length, nullptr);
  EXPECT_EQ(describe(*length), (Lines{
                                   "s: string (structure, 32) @ gpr0",
                                   "extra: int (signed_int, 4) @ gpr1",
                               }));
  EXPECT_EQ(length->return_type.name, "size_t");

  const Function* use = d->function("geo::use_owned");
  ASSERT_NE(use, nullptr);
  EXPECT_EQ(describe(*use), (Lines{
                                "o: Owned (structure, 4) @ gpr0",
                                "p: Plain (structure, 16) @ gpr1,gpr2",
                            }));
  const Function* make = d->function("geo::make_owned");
  ASSERT_NE(make, nullptr);
  EXPECT_TRUE(make->returns_in_memory);
  EXPECT_EQ(describe(*make), (Lines{"fd: int (signed_int, 4) @ gpr1"}));
}

TEST(DebugInfo, ObjectWithoutDwarfIsUnsupported) {
  auto d = DebugInfo::open(kFx + "/dwarf_fx_nodebug", kNoRoot);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind(), ErrorKind::unsupported);
  EXPECT_NE(d.error().message().find("has no debug information"), std::string::npos);
  EXPECT_NE(d.error().message().find("dwarf_fx_nodebug"), std::string::npos);
}

TEST(DebugInfo, OpensAnAlreadyIndexedElfFile) {
  auto elf = elf::ElfFile::open(kFx + "/dwarf_fx_params_o2", kNoRoot);
  ASSERT_TRUE(elf.ok());
  auto d = DebugInfo::open(*elf, kNoRoot);
  ASSERT_TRUE(d.ok()) << d.error().message();
  const Function* scale = (*d)->function("scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_TRUE(scale->clone);
  const elf::Symbol* sym = (*elf)->function_containing(scale->low_pc);
  ASSERT_NE(sym, nullptr);
  EXPECT_EQ(sym->name, "scale.constprop.0");
  EXPECT_EQ(sym->value, scale->low_pc);
}

// "name type @offset size [signed] [bits o:w] [xN] [-> pointee]" for each member.
std::vector<std::string> describe(const Aggregate& a) {
  std::vector<std::string> out;
  for (const auto& m : a.members) {
    std::string s = m.name + " " + m.type_name + " (" + cls(m.cls) + ") @" + std::to_string(m.offset) + " " +
                    std::to_string(m.size);
    if (m.is_signed) s += " signed";
    if (m.bit_size) s += " bits " + std::to_string(m.bit_offset) + ":" + std::to_string(m.bit_size);
    if (m.count) s += " x" + std::to_string(m.count);
    if (!m.pointee_aggregate.empty()) s += " -> " + m.pointee_aggregate;
    else if (m.pointee_size) s += " -> " + std::to_string(m.pointee_size) + (m.pointee_signed ? " signed" : "");
    out.push_back(s);
  }
  return out;
}

TEST(DebugInfo, AggregatesWithNestedMembersBitFieldsAndArrays) {
  auto d = open_ok("dwarf_fx_types");
  auto node = d->aggregate("struct node");
  ASSERT_TRUE(node.has_value());
  EXPECT_FALSE(node->is_union);
  EXPECT_EQ(node->size, 72u);
  const std::vector<std::string> want = {
      "id long (signed_int) @0 8 signed",
      "at struct point (structure) @8 8",
      "at.x int (signed_int) @8 4 signed",
      "at.y int (signed_int) @12 4 signed",
      "u union <anonymous> (structure) @16 4",
      "u.as_int int (signed_int) @16 4 signed",
      "u.bytes unsigned char [4] (character) @16 1 x4",
      "f struct flags (structure) @24 8",
      "f.ready unsigned int (unsigned_int) @24 4 bits 0:1",
      "f.mode unsigned int (unsigned_int) @24 4 bits 1:3",
      "f.delta int (signed_int) @24 4 signed bits 4:5",
      "f.big unsigned long long (unsigned_int) @25 8 bits 1:40",
      "name char [16] (character) @32 1 signed x16",
      "samples short [4] (signed_int) @48 2 signed x4",
      "weight double (floating) @56 8",
      "next struct node * (pointer) @64 8 -> struct node",
  };
  EXPECT_EQ(describe(*node), want);
  auto point = d->aggregate("struct point");
  ASSERT_TRUE(point.has_value());
  EXPECT_EQ(point->size, 8u);
  // A typedef of a struct names it too; a declaration-only or unknown name does not.
  auto by_typedef = d->aggregate("node_t");
  ASSERT_TRUE(by_typedef.has_value());
  EXPECT_EQ(by_typedef->members.size(), node->members.size());
  EXPECT_FALSE(d->aggregate("struct nosuch").has_value());
  EXPECT_FALSE(d->aggregate("union node").has_value());
}

TEST(DebugInfo, MissingFileIsAnIoError) {
  auto d = DebugInfo::open(kFx + "/does-not-exist", kNoRoot);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind(), ErrorKind::io);
}

}  // namespace
}  // namespace probekit::dwarf
