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

// Exit windows (return probes at jump speed): the ret and the whole
// instructions before it, at least 5 bytes, ending with the ret.
TEST(PlanExit, TakesTheInstructionsBeforeTheRet) {
  // push rbx; mov rbx,rdi; lea rax,[rbx+0x64]; pop rbx; ret
  std::vector<uint8_t> f{0x53, 0x48, 0x89, 0xfb, 0x48, 0x8d, 0x43, 0x64, 0x5b, 0xc3};
  auto p = plan_exit({f, kFn}, kFn + 9);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->address, kFn + 4);
  EXPECT_EQ(p->length, 6u);
  ASSERT_EQ(p->displaced.size(), 3u);
  EXPECT_EQ(p->displaced[0].text(), "lea rax, [rbx+0x64]");
  EXPECT_EQ(p->displaced[2].mnemonic(), "ret");
  // leave; ret after a 4-byte load: mov rbx,[rbp-8]; leave; ret
  std::vector<uint8_t> g{0x55, 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x5d, 0xf8, 0xc9, 0xc3};
  auto q = plan_exit({g, kFn}, kFn + 9);
  ASSERT_TRUE(q.ok()) << q.error().message();
  EXPECT_EQ(q->address, kFn + 4);
  EXPECT_EQ(q->length, 6u);
  // From an earlier boundary (an entry's window made one with the exit's).
  auto r = plan_exit({g, kFn}, kFn + 9, kFn);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->address, kFn);
  EXPECT_EQ(r->length, 10u);
  EXPECT_FALSE(plan_exit({g, kFn}, kFn + 9, kFn + 2).ok());  // inside mov rbp,rsp
  EXPECT_FALSE(plan_exit({g, kFn}, kFn + 8).ok());           // leave is no ret
}

TEST(PlanExit, RefusesABranchIntoTheWindowAnotherRetOrTooFewBytes) {
  // test rdi,rdi; js +5 (to the xor); lea rax,[rdi+rdi]; ret; xor eax,eax;
  // ret: the second ret has only the xor, then the first ret, before it.
  std::vector<uint8_t> f{0x48, 0x85, 0xff, 0x78, 0x05, 0x48, 0x8d, 0x04, 0x3f, 0xc3, 0x31, 0xc0, 0xc3};
  auto second = plan_exit({f, kFn}, kFn + 12);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("'ret' at +0x9 leaves before"), std::string::npos)
      << second.error().message();
  auto first = plan_exit({f, kFn}, kFn + 9);  // the first: lea; ret (no branch lands in it)
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->address, kFn + 5);
  // jz lands on the pop inside the window before the ret.
  std::vector<uint8_t> g{0x85, 0xff, 0x74, 0x04, 0x48, 0x89, 0xf8, 0x90, 0x5b, 0xc3};
  auto into = plan_exit({g, kFn}, kFn + 9);
  ASSERT_FALSE(into.ok());
  EXPECT_NE(into.error().message().find("jumps into the patched bytes"), std::string::npos)
      << into.error().message();
  std::vector<uint8_t> tiny{0x31, 0xc0, 0xc3};  // xor eax,eax; ret
  auto t = plan_exit({tiny, kFn}, kFn + 2);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("fewer than 5 bytes"), std::string::npos) << t.error().message();
  // A call before the ret cannot be moved (its return address would be the copy's).
  std::vector<uint8_t> call{0x90, 0xe8, 0, 0, 0, 0, 0xc3};
  auto c = plan_exit({call, kFn}, kFn + 6);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("is a call"), std::string::npos) << c.error().message();
}

TEST(RelocateBlock, WithoutJumpBackTheCopiesEndTheBlock) {
  // mov rax,[rip+0x100]; pop rbx; ret: the window's instructions but the
  // ret, copied for an exit site (the probe and the ret follow them).
  std::vector<uint8_t> f{0x48, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00, 0x5b, 0xc3};
  auto p = plan_exit({f, kFn}, kFn + 8);
  ASSERT_TRUE(p.ok()) << p.error().message();
  ASSERT_EQ(p->address, kFn);
  JumpPlan before = *p;
  before.displaced.pop_back();
  before.length -= 1;
  auto b = relocate_block(before, 0x600000, false);
  ASSERT_TRUE(b.ok()) << b.error().message();
  ASSERT_EQ(b->code.size(), 8u);  // no jmp appended
  auto insns = decode_all(b->code, 0x600000);
  ASSERT_TRUE(insns.ok()) << insns.error().message();
  ASSERT_EQ(insns->size(), 2u);
  EXPECT_EQ((*insns)[0].target(), kFn + 7 + 0x100);  // still reads what the original read
  EXPECT_EQ((*insns)[1].text(), "pop rbx");
  EXPECT_EQ(b->copy_of.size(), 2u);
}

}  // namespace
}  // namespace probekit::x86
