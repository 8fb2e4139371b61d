// Emulation: registers before and after, exact values, stack through the
// callbacks (a fake memory map), every jcc condition over flag combinations.
#include "x86/x86.h"

#include <gtest/gtest.h>

#include <map>

#include "x86_test_util.h"

namespace probekit::x86 {
namespace {

using testing::insn_of;

constexpr uint64_t CF = 1 << 0, PF = 1 << 2, ZF = 1 << 6, SF = 1 << 7, OF = 1 << 11;
constexpr uint64_t kAlwaysOne = 0x202;  // bit 1 and IF, as a live thread has them

struct FakeStack {
  std::map<uint64_t, uint64_t> mem;
  bool fail = false;
  int writes = 0;
  StackAccess access() {
    return StackAccess{
        [this](uint64_t addr) -> Result<uint64_t> {
          if (fail) return Error("read failed", ErrorKind::bad_address);
          auto it = mem.find(addr);
          if (it == mem.end()) return Error("unmapped", ErrorKind::bad_address);
          return it->second;
        },
        [this](uint64_t addr, uint64_t v) -> Status {
          if (fail) return Error("write failed", ErrorKind::bad_address);
          mem[addr] = v;
          ++writes;
          return {};
        }};
  }
};

user_regs_struct regs_at(uint64_t rip) {
  user_regs_struct r{};
  r.rip = rip;
  r.rsp = 0x7ffe0000;
  r.eflags = kAlwaysOne;
  return r;
}

Analysis must_analyze(const Instruction& insn) {
  auto a = analyze(insn);
  EXPECT_TRUE(a.ok()) << insn.text() << ": " << (a.ok() ? "" : a.error().message());
  return a.ok() ? *a : Analysis{};
}

// Emulates insn (bytes at 0x1000) with the kind analyze() chose.
Status run(const char* bytes, user_regs_struct& regs, FakeStack& stack) {
  Instruction insn = insn_of(bytes, 0x1000);
  Analysis a = must_analyze(insn);
  EXPECT_EQ(a.plan, Plan::emulate) << insn.text();
  return emulate(insn, a.emulation, regs, stack.access());
}

// Expected "taken" for cc = 0..f (o no b ae e ne be a s ns p np l ge le g).
struct JccRow {
  uint64_t flags;
  const char* taken;
};
constexpr JccRow kJccTable[] = {
    {0, "0101010101010101"},       {CF, "0110011001010101"},
    {ZF, "0101101001010110"},      {SF, "0101010110011010"},
    {OF, "1001010101011010"},      {PF, "0101010101100101"},
    {SF | OF, "1001010110010101"}, {ZF | SF, "0101101010011010"},
    {CF | ZF, "0110101001010110"},
};

TEST(Emulate, EveryJccCondition) {
  for (const JccRow& row : kJccTable) {
    for (int cc = 0; cc < 16; ++cc) {
      const bool want = row.taken[cc] == '1';
      char bytes[8];
      std::snprintf(bytes, sizeof bytes, "%02x 10", 0x70 + cc);  // jcc +0x10
      Instruction insn = insn_of(bytes, 0x1000);
      user_regs_struct r = regs_at(0x1000);
      r.eflags = kAlwaysOne | row.flags;
      EXPECT_EQ(condition_taken(insn, r), want) << insn.text() << " flags " << row.flags;
      FakeStack stack;
      ASSERT_TRUE(run(bytes, r, stack).ok());
      EXPECT_EQ(r.rip, want ? 0x1012u : 0x1002u) << insn.text() << " flags " << row.flags;
      EXPECT_EQ(r.rsp, 0x7ffe0000u);
      EXPECT_EQ(stack.writes, 0);
    }
  }
}

TEST(Emulate, JccRel32) {
  FakeStack stack;
  user_regs_struct r = regs_at(0x1000);
  r.eflags = kAlwaysOne | ZF;
  ASSERT_TRUE(run("0f 84 00 01 00 00", r, stack).ok());  // jz 0x1106
  EXPECT_EQ(r.rip, 0x1106u);
  r = regs_at(0x1000);
  ASSERT_TRUE(run("0f 84 00 01 00 00", r, stack).ok());
  EXPECT_EQ(r.rip, 0x1006u);
  r = regs_at(0x1000);
  r.eflags = kAlwaysOne | SF;
  ASSERT_TRUE(run("0f 8c 00 ff ff ff", r, stack).ok());  // jl 0xf06
  EXPECT_EQ(r.rip, 0xf06u);
}

TEST(Emulate, JmpRel) {
  FakeStack stack;
  user_regs_struct r = regs_at(0x1000);
  ASSERT_TRUE(run("eb f0", r, stack).ok());  // jmp 0xff2
  EXPECT_EQ(r.rip, 0xff2u);
  r = regs_at(0x1000);
  ASSERT_TRUE(run("e9 00 00 00 80", r, stack).ok());  // jmp -2GB
  EXPECT_EQ(r.rip, 0x1005ull - 0x80000000ull);  // 0xffffffff80001005
}

TEST(Emulate, Loop) {
  FakeStack stack;
  user_regs_struct r = regs_at(0x1000);
  r.rcx = 5;
  ASSERT_TRUE(run("e2 10", r, stack).ok());  // loop 0x1012
  EXPECT_EQ(r.rcx, 4u);
  EXPECT_EQ(r.rip, 0x1012u);

  r = regs_at(0x1000);
  r.rcx = 1;
  ASSERT_TRUE(run("e2 10", r, stack).ok());
  EXPECT_EQ(r.rcx, 0u);
  EXPECT_EQ(r.rip, 0x1002u);

  r = regs_at(0x1000);
  r.rcx = 0;  // wraps: 2^64 - 1 iterations left
  ASSERT_TRUE(run("e2 10", r, stack).ok());
  EXPECT_EQ(r.rcx, 0xffffffffffffffffu);
  EXPECT_EQ(r.rip, 0x1012u);
}

TEST(Emulate, LoopeAndLoopne) {
  FakeStack stack;
  user_regs_struct r = regs_at(0x1000);
  r.rcx = 5;
  r.eflags = kAlwaysOne | ZF;
  ASSERT_TRUE(run("e1 10", r, stack).ok());  // loope
  EXPECT_EQ(r.rcx, 4u);
  EXPECT_EQ(r.rip, 0x1012u);

  r = regs_at(0x1000);
  r.rcx = 5;
  ASSERT_TRUE(run("e1 10", r, stack).ok());  // loope, ZF clear: falls through, still decrements
  EXPECT_EQ(r.rcx, 4u);
  EXPECT_EQ(r.rip, 0x1002u);

  r = regs_at(0x1000);
  r.rcx = 5;
  ASSERT_TRUE(run("e0 10", r, stack).ok());  // loopne, ZF clear
  EXPECT_EQ(r.rip, 0x1012u);

  r = regs_at(0x1000);
  r.rcx = 5;
  r.eflags = kAlwaysOne | ZF;
  ASSERT_TRUE(run("e0 10", r, stack).ok());  // loopne, ZF set
  EXPECT_EQ(r.rcx, 4u);
  EXPECT_EQ(r.rip, 0x1002u);
}

TEST(Emulate, Jrcxz) {
  FakeStack stack;
  user_regs_struct r = regs_at(0x1000);
  r.rcx = 0;
  ASSERT_TRUE(run("e3 10", r, stack).ok());
  EXPECT_EQ(r.rip, 0x1012u);
  EXPECT_EQ(r.rcx, 0u);

  r = regs_at(0x1000);
  r.rcx = 0x100000000;  // the upper half counts for jrcxz
  ASSERT_TRUE(run("e3 10", r, stack).ok());
  EXPECT_EQ(r.rip, 0x1002u);

  r = regs_at(0x1000);
  r.rcx = 0x100000000;  // ...but not for jecxz
  ASSERT_TRUE(run("67 e3 10", r, stack).ok());
  EXPECT_EQ(r.rip, 0x1013u);
}

TEST(Emulate, CallPushesReturnAddress) {
  FakeStack stack;
  user_regs_struct r = regs_at(0x1000);
  ASSERT_TRUE(run("e8 00 01 00 00", r, stack).ok());  // call 0x1105
  EXPECT_EQ(r.rip, 0x1105u);
  EXPECT_EQ(r.rsp, 0x7ffdfff8u);
  ASSERT_EQ(stack.mem.size(), 1u);
  EXPECT_EQ(stack.mem.at(0x7ffdfff8), 0x1005u);
}

TEST(Emulate, CallWithFailingStackLeavesRegisters) {
  FakeStack stack;
  stack.fail = true;
  user_regs_struct r = regs_at(0x1000);
  Status s = run("e8 00 01 00 00", r, stack);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::bad_address);
  EXPECT_EQ(r.rip, 0x1000u);
  EXPECT_EQ(r.rsp, 0x7ffe0000u);
}

TEST(Emulate, Ret) {
  FakeStack stack;
  stack.mem[0x7ffe0000] = 0x55551234;
  user_regs_struct r = regs_at(0x1000);
  ASSERT_TRUE(run("c3", r, stack).ok());
  EXPECT_EQ(r.rip, 0x55551234u);
  EXPECT_EQ(r.rsp, 0x7ffe0008u);

  r = regs_at(0x1000);
  ASSERT_TRUE(run("f3 c3", r, stack).ok());  // rep ret (old gcc's AMD idiom)
  EXPECT_EQ(r.rip, 0x55551234u);
  EXPECT_EQ(r.rsp, 0x7ffe0008u);
}

TEST(Emulate, RetImm) {
  FakeStack stack;
  stack.mem[0x7ffe0000] = 0x55551234;
  user_regs_struct r = regs_at(0x1000);
  ASSERT_TRUE(run("c2 10 00", r, stack).ok());  // ret 0x10
  EXPECT_EQ(r.rip, 0x55551234u);
  EXPECT_EQ(r.rsp, 0x7ffe0018u);
}

TEST(Emulate, RetWithUnreadableStackLeavesRegisters) {
  FakeStack stack;  // nothing mapped
  user_regs_struct r = regs_at(0x1000);
  ASSERT_FALSE(run("c3", r, stack).ok());
  EXPECT_EQ(r.rip, 0x1000u);
  EXPECT_EQ(r.rsp, 0x7ffe0000u);
}

TEST(Emulate, PushRegisters) {
  FakeStack stack;
  user_regs_struct r = regs_at(0x1000);
  r.rbp = 0x1111;
  r.r12 = 0x2222;
  r.rax = 0x3333;
  ASSERT_TRUE(run("55", r, stack).ok());  // push rbp
  EXPECT_EQ(r.rip, 0x1001u);
  EXPECT_EQ(r.rsp, 0x7ffdfff8u);
  EXPECT_EQ(stack.mem.at(0x7ffdfff8), 0x1111u);

  r.rip = 0x1000;
  ASSERT_TRUE(run("41 54", r, stack).ok());  // push r12 (REX.B)
  EXPECT_EQ(r.rip, 0x1002u);
  EXPECT_EQ(r.rsp, 0x7ffdfff0u);
  EXPECT_EQ(stack.mem.at(0x7ffdfff0), 0x2222u);

  r.rip = 0x1000;
  ASSERT_TRUE(run("50", r, stack).ok());  // push rax
  EXPECT_EQ(stack.mem.at(0x7ffdffe8), 0x3333u);
  EXPECT_EQ(r.rsp, 0x7ffdffe8u);
}

TEST(Emulate, PushRspStoresTheOldValue) {
  FakeStack stack;
  user_regs_struct r = regs_at(0x1000);
  ASSERT_TRUE(run("54", r, stack).ok());  // push rsp
  EXPECT_EQ(r.rsp, 0x7ffdfff8u);
  EXPECT_EQ(stack.mem.at(0x7ffdfff8), 0x7ffe0000u);
}

TEST(Emulate, Nops) {
  FakeStack stack;
  const std::pair<const char*, uint64_t> cases[] = {
      {"90", 0x1001},
      {"66 90", 0x1002},
      {"0f 1f 44 00 00", 0x1005},
      {"66 2e 0f 1f 84 00 00 00 00 00", 0x100a},  // cs nopw (padding)
      {"f3 0f 1e fa", 0x1004},                    // endbr64
  };
  for (const auto& [bytes, next] : cases) {
    user_regs_struct r = regs_at(0x1000);
    ASSERT_TRUE(run(bytes, r, stack).ok()) << bytes;
    EXPECT_EQ(r.rip, next) << bytes;
    EXPECT_EQ(r.rsp, 0x7ffe0000u);
  }
  EXPECT_EQ(stack.writes, 0);
}

TEST(Emulate, RefusesAKindThatDoesNotMatch) {
  FakeStack stack;
  user_regs_struct r = regs_at(0x1000);
  Instruction push = insn_of("55", 0x1000);
  Status s = emulate(push, EmulationKind::ret, r, stack.access());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::internal);
  EXPECT_EQ(r.rip, 0x1000u);
  Instruction mov = insn_of("48 89 e5", 0x1000);
  EXPECT_FALSE(emulate(mov, EmulationKind::none, r, stack.access()).ok());
  EXPECT_FALSE(emulate(mov, EmulationKind::nop, r, stack.access()).ok());
}

TEST(Registers, IndexingMatchesUserRegsStruct) {
  user_regs_struct r{};
  r.rsi = 7;
  r.r12 = 9;
  r.rip = 11;
  EXPECT_EQ(reg_at(r, reg::rsi), 7u);
  EXPECT_EQ(reg_at(r, reg::r12), 9u);
  EXPECT_EQ(reg_at(r, reg::rip), 11u);
  reg_at(r, reg::rbx) = 5;
  EXPECT_EQ(r.rbx, 5u);
  EXPECT_STREQ(reg_name(reg::rdi), "rdi");
  EXPECT_STREQ(reg_name(reg::rsp), "rsp");
}

}  // namespace
}  // namespace probekit::x86
