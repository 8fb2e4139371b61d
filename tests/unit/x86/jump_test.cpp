// Jump-probe eligibility (optprobes' can_optimize) and block relocation,
#include <cstring>
// byte-exact, every relocated copy re-decoded.
#include <gtest/gtest.h>

#include <vector>

#include "x86/x86.h"

namespace probekit::x86 {
namespace {

constexpr uint64_t kFn = 0x401000;

Result<JumpPlan> plan(const std::vector<uint8_t>& bytes, uint64_t at) {
  return plan_jump({bytes, kFn}, at);
}

TEST(PlanJump, CoversWholeInstructionsUpToFiveBytes) {
  // push rbp; mov rbp,rsp; sub rsp,0x10; ret
  std::vector<uint8_t> f{0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0xc3};
  auto p = plan(f, kFn);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->length, 8u);
  ASSERT_EQ(p->displaced.size(), 3u);
  EXPECT_EQ(p->displaced[2].text(), "sub rsp, 0x10");
}

TEST(PlanJump, RefusesABranchIntoThePatchedBytes) {
  // push rbp; mov rbp,rsp; nop; jmp -> +1 (mov rbp,rsp)
  std::vector<uint8_t> f{0x55, 0x48, 0x89, 0xe5, 0x90, 0x90, 0xeb, 0xf9, 0xc3};
  auto p = plan(f, kFn);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind(), ErrorKind::cannot_relocate);
  EXPECT_NE(p.error().message().find("jumps into the patched bytes"), std::string::npos) << p.error().message();
}

TEST(PlanJump, RefusesABranchFromAColdPart) {
  std::vector<uint8_t> f{0x55, 0x48, 0x89, 0xe5, 0x90, 0xc3};
  std::vector<uint8_t> cold{0xe9, 0, 0, 0, 0};  // jmp rel32, patched below
  const uint64_t cold_at = 0x402000;
  const int32_t rel = static_cast<int32_t>((kFn + 1) - (cold_at + 5));
  std::memcpy(&cold[1], &rel, 4);
  std::vector<CodeRange> others{{cold, cold_at}};
  auto p = plan_jump({f, kFn}, kFn, others);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("jumps into the patched bytes"), std::string::npos);
}

TEST(PlanJump, RefusesAJumpTable) {
  // push rbp; mov rbp,rsp; nop; jmp rax; ret
  std::vector<uint8_t> f{0x55, 0x48, 0x89, 0xe5, 0x90, 0xff, 0xe0, 0xc3};
  auto p = plan(f, kFn);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("jump table"), std::string::npos) << p.error().message();
}

TEST(PlanJump, RefusesACallOrSyscallInTheRange) {
  std::vector<uint8_t> call{0x55, 0xe8, 0, 0, 0, 0, 0xc3};  // push rbp; call +0; ret
  auto p = plan(call, kFn);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("is a call"), std::string::npos) << p.error().message();
  std::vector<uint8_t> sys{0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xc3};  // mov eax,39; syscall; ret
  EXPECT_TRUE(plan(sys, kFn).ok());  // the mov alone covers 5 bytes
  std::vector<uint8_t> sys2{0x90, 0x0f, 0x05, 0x90, 0x90, 0x90, 0xc3};
  EXPECT_FALSE(plan(sys2, kFn).ok());
}

TEST(PlanJump, RefusesTooShortAFunctionAndABranchBeforeTheEnd) {
  std::vector<uint8_t> tiny{0x31, 0xc0, 0xc3};  // xor eax,eax; ret
  EXPECT_FALSE(plan(tiny, kFn).ok());
  std::vector<uint8_t> early{0x85, 0xff, 0x74, 0x02, 0x90, 0x90, 0xc3};  // test; jz; ...
  auto p = plan(early, kFn);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("leaves before"), std::string::npos) << p.error().message();
}

TEST(PlanJump, RefusesAnOffsetInsideAnInstruction) {
  std::vector<uint8_t> f{0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0xc3};
  auto p = plan(f, kFn + 2);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind(), ErrorKind::not_instruction_boundary);
}

TEST(RelocateBlock, ByteExactWithJumpBack) {
  // push rbp; mov rbp,rsp; sub rsp,0x10 -> copy at 0x500000, then jmp 0x401008
  std::vector<uint8_t> f{0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0xc3};
  auto p = plan(f, kFn);
  ASSERT_TRUE(p.ok());
  auto b = relocate_block(*p, 0x500000);
  ASSERT_TRUE(b.ok()) << b.error().message();
  const int32_t back = static_cast<int32_t>(0x401008 - (0x500008 + 5));
  std::vector<uint8_t> want{0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0xe9};
  for (int i = 0; i < 4; ++i) want.push_back(static_cast<uint8_t>(back >> (8 * i)));
  EXPECT_EQ(b->code, want);
  ASSERT_EQ(b->copy_of.size(), 3u);
  EXPECT_EQ(b->copy_of[1], (std::pair<uint64_t, uint64_t>{kFn + 1, 0x500001}));
  EXPECT_EQ(b->copy_of[2], (std::pair<uint64_t, uint64_t>{kFn + 4, 0x500004}));
  auto jmp = decode(b->code.data() + 8, 5, 0x500008);
  ASSERT_TRUE(jmp.ok());
  EXPECT_EQ(jmp->target(), kFn + 8);
}

TEST(RelocateBlock, RipRelativeKeepsItsTarget) {
  // mov rax,[rip+0x100]; ret -> the copy still reads 0x401107
  std::vector<uint8_t> f{0x48, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00, 0xc3};
  auto p = plan(f, kFn);
  ASSERT_TRUE(p.ok());
  auto b = relocate_block(*p, 0x600000);
  ASSERT_TRUE(b.ok()) << b.error().message();
  auto copy = decode(b->code.data(), b->code.size(), 0x600000);
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->length, 7);
  EXPECT_EQ(copy->target(), kFn + 7 + 0x100);
}

TEST(RelocateBlock, ATrailingConditionalBranchKeepsBothPaths) {
  // mov eax,1; jz +0x10 (to 0x401017) ; ret
  std::vector<uint8_t> f{0xb8, 0x01, 0, 0, 0, 0x74, 0x10, 0xc3};
  f.resize(0x20, 0x90);
  auto p = plan(f, kFn);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->length, 5u);  // the mov alone
  std::vector<uint8_t> g{0x90, 0x90, 0x90, 0x74, 0x10, 0xc3};  // nop x3; jz; ret
  g.resize(0x20, 0x90);
  auto q = plan(g, kFn);
  ASSERT_TRUE(q.ok()) << q.error().message();
  auto b = relocate_block(*q, 0x700000);
  ASSERT_TRUE(b.ok()) << b.error().message();
  // nop nop nop; jz +2; jmp short over; jmp target; jmp back
  auto jz = decode(b->code.data() + 3, b->code.size() - 3, 0x700003);
  ASSERT_TRUE(jz.ok());
  EXPECT_EQ(jz->mnemonic(), "jz");
  const uint64_t over = 0x700003 + jz->length + 2;
  auto to_target = decode(b->code.data() + (over - 0x700000), 5, over);
  ASSERT_TRUE(to_target.ok());
  EXPECT_EQ(to_target->target(), kFn + 5 + 0x10);
  auto back = decode(b->code.data() + (over - 0x700000) + 5, 5, over + 5);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->target(), kFn + 5);
}

}  // namespace
}  // namespace probekit::x86

namespace probekit::x86 {
namespace {

TEST(ScanBranches, RelativeIndirectAndIncomplete) {
  // jmp +2 (to 0x401004); call +0 (to 0x40100b); jmp rax; ret; then a byte
  // that does not decode as the start of an instruction (0x0f 0xff)
  std::vector<uint8_t> code{0xeb, 0x02, 0x90, 0x90, 0xe8, 0x02, 0, 0, 0, 0xff, 0xe0, 0xc3, 0x0f, 0xff};
  BranchScan s = scan_branches(code, 0x401000);
  ASSERT_EQ(s.relative.size(), 2u);
  EXPECT_EQ(s.relative[0], (std::pair<uint64_t, uint64_t>{0x401004, 0x401000}));
  EXPECT_EQ(s.relative[1], (std::pair<uint64_t, uint64_t>{0x40100b, 0x401004}));
  EXPECT_EQ(s.indirect_jmps, (std::vector<uint64_t>{0x401009}));
  EXPECT_FALSE(s.complete);
}

TEST(PlanDisplaced, DecodesOnlyTheDisplacedInstructions) {
  // push rbp; mov rbp,rsp; sub rsp,0x10; then bytes that do not decode
  std::vector<uint8_t> f{0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0x0f, 0xff};
  auto p = plan_displaced({f, 0x401000}, 0x401000);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->length, 8u);
  EXPECT_FALSE(plan_jump({f, 0x401000}, 0x401000).ok());  // the whole function must decode
}

TEST(PlanDisplaced, AHopNeedsTwoBytesOfWholeInstructions) {
  // mov rax, rdi; ret: 4 bytes, so no 5-byte jmp; a 2-byte one displaces the mov only.
  std::vector<uint8_t> f{0x48, 0x89, 0xf8, 0xc3};
  EXPECT_FALSE(plan_displaced({f, 0x401000}, 0x401000).ok());
  auto p = plan_displaced({f, 0x401000}, 0x401000, 2);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->length, 3u);
  // ret first: even 2 bytes would leave the function.
  std::vector<uint8_t> r{0xc3, 0x90, 0x90};
  EXPECT_FALSE(plan_displaced({r, 0x401000}, 0x401000, 2).ok());
}

TEST(Padding, OnlyNopsAndInt3sAreAHopsPlace) {
  // nopw 0x0(%rax,%rax,1); nop; int3
  const std::vector<uint8_t> pad{0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x90, 0xcc};
  EXPECT_TRUE(is_padding(pad, 0x401000));
  const std::vector<uint8_t> code{0x90, 0x48, 0x89, 0xf8};  // nop; mov rax, rdi
  EXPECT_FALSE(is_padding(code, 0x401000));
  const std::vector<uint8_t> cut{0x66, 0x0f, 0x1f};  // a NOP cut short
  EXPECT_FALSE(is_padding(cut, 0x401000));
}

TEST(Padding, AFunctionThatFallsThroughIsNotFollowedByAHop) {
  const std::vector<uint8_t> ret{0x48, 0x89, 0xf8, 0xc3};                    // mov; ret
  const std::vector<uint8_t> jmp{0x48, 0x01, 0xd0, 0xeb, 0x1b};              // add; jmp rel8
  const std::vector<uint8_t> chk{0x48, 0x39, 0xd1, 0x0f, 0x82, 0, 0, 0, 0};  // cmp; jb (glibc's *_chk)
  EXPECT_TRUE(ends_without_falling_through({ret, 0x401000}));
  EXPECT_TRUE(ends_without_falling_through({jmp, 0x401000}));
  EXPECT_FALSE(ends_without_falling_through({chk, 0x401000}));
}

}  // namespace
}  // namespace probekit::x86
