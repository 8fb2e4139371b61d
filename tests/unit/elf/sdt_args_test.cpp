// USDT argument specifications: parsed as the assembler wrote them and
// evaluated against registers and memory, with the note's size and sign.
#include "elf/sdt_args.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

namespace probekit::elf {
namespace {

constexpr int word(size_t off) { return static_cast<int>(off / 8); }

TEST(SdtArgs, ParsesEveryOperandForm) {
  auto a = parse_sdt_args("-4@%eax 8@-16(%rbp) 8@%rdi 4@$5 -8@$-3 2@(%rax,%rbx,4) 8@pk_var+8(%rip) 1@%ah 8@%r12 -4@%r9d");
  ASSERT_TRUE(a) << a.error().message();
  ASSERT_EQ(a->size(), 10u);
  const auto& v = *a;
  EXPECT_EQ(v[0].kind, SdtArg::Kind::reg);
  EXPECT_EQ(v[0].size, 4);
  EXPECT_TRUE(v[0].is_signed);
  EXPECT_EQ(v[0].reg.word, word(offsetof(user_regs_struct, rax)));
  EXPECT_EQ(v[0].reg.bits, 32);
  EXPECT_EQ(v[1].kind, SdtArg::Kind::mem);
  EXPECT_EQ(v[1].offset, -16);
  EXPECT_EQ(v[1].reg.word, word(offsetof(user_regs_struct, rbp)));
  EXPECT_FALSE(v[1].is_signed);
  EXPECT_EQ(v[2].reg.word, word(offsetof(user_regs_struct, rdi)));
  EXPECT_EQ(v[3].kind, SdtArg::Kind::imm);
  EXPECT_EQ(v[3].offset, 5);
  EXPECT_EQ(v[4].offset, -3);
  EXPECT_EQ(v[5].index.word, word(offsetof(user_regs_struct, rbx)));
  EXPECT_EQ(v[5].scale, 4);
  EXPECT_EQ(v[6].symbol, "pk_var");
  EXPECT_EQ(v[6].offset, 8);
  EXPECT_EQ(v[7].reg.shift, 8);
  EXPECT_EQ(v[8].reg.word, word(offsetof(user_regs_struct, r12)));
  EXPECT_EQ(v[9].reg.bits, 32);
  EXPECT_EQ(v[9].text, "-4@%r9d");
  auto empty = parse_sdt_args("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(SdtArgs, RefusesMalformedSpecificationsWithTheReason) {
  const std::map<std::string, std::string> bad = {
      {"3@%eax", "USDT argument '3@%eax': the size before '@' must be 1, 2, 4 or 8 (with '-' for signed)"},
      {"8@%xyz", "USDT argument '8@%xyz': unknown register '%xyz'"},
      {"8@$abc", "USDT argument '8@$abc': '$abc' is not an integer constant"},
      {"8@-16(%rbp", "USDT argument '8@-16(%rbp': missing ')'"},
      {"8@(%rax,%rbx,3)", "USDT argument '8@(%rax,%rbx,3)': the scale must be 1, 2, 4 or 8"},
      {"8@", "USDT argument '8@': no operand after the size"},
  };
  for (const auto& [text, msg] : bad) {
    auto r = parse_sdt_args(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().message(), msg);
    EXPECT_EQ(r.error().kind(), ErrorKind::parse);
  }
}

TEST(SdtArgs, EvaluatesWithTheNotesSizeAndSign) {
  user_regs_struct regs{};
  regs.rax = 0xffffffff'fffffffeull;  // eax = -2
  regs.rbp = 0x1000;
  regs.rbx = 3;
  regs.rdi = 0x1234'5678'9abc'def0ull;
  std::map<uint64_t, uint64_t> mem = {{0x1000 - 16, 0xfffffff0ull}, {0x100c, 0x0102}, {0x2008, 77}};
  SdtReader read = [&](uint64_t addr, void* buf, size_t len) {
    auto it = mem.find(addr);
    if (it == mem.end()) return false;
    std::memcpy(buf, &it->second, len);
    return true;
  };
  auto args = parse_sdt_args("-4@%eax 4@%eax 8@%rdi -4@-16(%rbp) 8@-16(%rbp) 4@$5 -8@$-3 2@(%rbp,%rbx,4) 1@%ah 8@pk_var+8(%rip) 8@8(%rdi)");
  ASSERT_TRUE(args);
  auto eval = [&](size_t i) { return evaluate_sdt_arg((*args)[i], regs, read, 0x2000); };
  EXPECT_EQ(static_cast<int64_t>(*eval(0)), -2);
  EXPECT_EQ(*eval(1), 0xfffffffeull);
  EXPECT_EQ(*eval(2), 0x1234'5678'9abc'def0ull);
  EXPECT_EQ(static_cast<int64_t>(*eval(3)), -16);
  EXPECT_EQ(*eval(4), 0xfffffff0ull);
  EXPECT_EQ(*eval(5), 5u);
  EXPECT_EQ(static_cast<int64_t>(*eval(6)), -3);
  EXPECT_EQ(*eval(7), 0x0102u);
  EXPECT_EQ(*eval(8), 0xffu);
  EXPECT_EQ(*eval(9), 77u);
  auto fault = eval(10);
  ASSERT_FALSE(fault);
  EXPECT_EQ(fault.error().kind(), ErrorKind::bad_address);
}

}  // namespace
}  // namespace probekit::elf
