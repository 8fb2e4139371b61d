// Byte-exact relocation tests in the style of Frida's relocator tests: the
// input bytes with their disassembly, the slot address, the exact output
// bytes. Every emitted instruction is then re-decoded with Zydis and its
// absolute memory address or branch destination compared with the intended
// one, because an encoder or patching mistake shows up as a wrong target,
// not as a crash (mechanism.md §7).
//
// The site is at 0x401000. The near slot 0x7f0000 is within ±2GB (disp32 is
// adjusted by site - slot = -0x3ef000); the far slot 0x7fff00000000 is not
// (scratch-register rewrite, single-step).
#include "x86/x86.h"

#include <gtest/gtest.h>

#include "x86_test_util.h"

namespace probekit::x86 {
namespace {

using testing::bytes_of;
using testing::hex_of;
using testing::insn_of;
using testing::redecode;

constexpr uint64_t kSite = 0x401000;
constexpr uint64_t kNear = 0x7f0000;
constexpr uint64_t kFar = 0x7fff00000000;

XolCode must_relocate(const Instruction& insn, uint64_t slot) {
  auto r = relocate(insn, slot);
  EXPECT_TRUE(r.ok()) << insn.text() << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : XolCode{};
}

// A boosted rip-relative copy: the patched instruction, then jmp back.
struct NearCase {
  const char* input;     // bytes at kSite
  const char* text;      // their disassembly
  const char* expected;  // bytes at kNear
  uint64_t memory;       // the absolute address both must touch
};

class RipRelativeNear : public ::testing::TestWithParam<NearCase> {};

TEST_P(RipRelativeNear, AdjustsDisp32AndJumpsBack) {
  const NearCase& c = GetParam();
  Instruction insn = insn_of(c.input, kSite);
  ASSERT_TRUE(insn.decoded);
  EXPECT_EQ(insn.text(), c.text);
  EXPECT_EQ(insn.target(), c.memory);

  XolCode x = must_relocate(insn, kNear);
  EXPECT_EQ(hex_of(x.code), c.expected);
  EXPECT_FALSE(x.single_step);
  EXPECT_EQ(x.scratch_reg, -1);
  EXPECT_FALSE(x.fix_ip);
  EXPECT_FALSE(x.fix_call);

  auto emitted = redecode(x.code, kNear);
  ASSERT_EQ(emitted.size(), 2u);
  EXPECT_EQ(emitted[0].insn.length, insn.length);
  EXPECT_EQ(emitted[0].destination, c.memory) << emitted[0].insn.text();
  EXPECT_EQ(emitted[1].insn.mnemonic(), "jmp");
  EXPECT_EQ(emitted[1].destination, kSite + insn.length);
}

// disp32: 0x1000 - 0x3ef000 = -0x3ee000 = 00 20 c1 ff; jmp back: e9 fb 0f c1 ff.
INSTANTIATE_TEST_SUITE_P(
    Relocate, RipRelativeNear,
    ::testing::Values(
        NearCase{"48 8b 05 00 10 00 00", "mov rax, [rip+0x1000]",
                 "48 8b 05 00 20 c1 ff e9 fb 0f c1 ff", 0x402007},
        NearCase{"48 8d 3d 00 10 00 00", "lea rdi, [rip+0x1000]",
                 "48 8d 3d 00 20 c1 ff e9 fb 0f c1 ff", 0x402007},
        // The immediate after the displacement stays in place.
        NearCase{"80 3d 00 10 00 00 00", "cmp byte ptr [rip+0x1000], 0x00",
                 "80 3d 00 20 c1 ff 00 e9 fb 0f c1 ff", 0x402007},
        NearCase{"f2 0f 10 05 00 10 00 00", "movsd xmm0, qword ptr [rip+0x1000]",
                 "f2 0f 10 05 00 20 c1 ff e9 fb 0f c1 ff", 0x402008},
        NearCase{"0f 28 0d 00 10 00 00", "movaps xmm1, [rip+0x1000]",
                 "0f 28 0d 00 20 c1 ff e9 fb 0f c1 ff", 0x402007},
        NearCase{"c5 fe 6f 05 00 10 00 00", "vmovdqu ymm0, [rip+0x1000]",
                 "c5 fe 6f 05 00 20 c1 ff e9 fb 0f c1 ff", 0x402008},
        NearCase{"4c 8b 0d 00 10 00 00", "mov r9, [rip+0x1000]",
                 "4c 8b 0d 00 20 c1 ff e9 fb 0f c1 ff", 0x402007},
        NearCase{"48 6b 1d 00 10 00 00 07", "imul rbx, [rip+0x1000], 0x07",
                 "48 6b 1d 00 20 c1 ff 07 e9 fb 0f c1 ff", 0x402008}));

// Out of reach: [rip+disp] -> [rX+disp] with rX = site + length.
struct FarCase {
  const char* input;
  const char* expected;       // bytes at kFar (single-stepped, no jump back)
  const char* expected_text;  // the copy, re-decoded
  int scratch;                // reg:: index
  uint64_t memory;
};

class RipRelativeFar : public ::testing::TestWithParam<FarCase> {};

TEST_P(RipRelativeFar, RewritesToScratchRegister) {
  const FarCase& c = GetParam();
  Instruction insn = insn_of(c.input, kSite);
  ASSERT_TRUE(insn.decoded);
  ASSERT_EQ(insn.target(), c.memory);

  XolCode x = must_relocate(insn, kFar);
  EXPECT_EQ(hex_of(x.code), c.expected);
  EXPECT_TRUE(x.single_step);
  EXPECT_EQ(x.scratch_reg, c.scratch) << reg_name(x.scratch_reg);
  EXPECT_EQ(x.scratch_value, kSite + insn.length);
  EXPECT_TRUE(x.fix_ip);
  EXPECT_FALSE(x.fix_call);

  // Re-decode: the base is the scratch register, the displacement is the
  // original one, so base value + disp is the original absolute address.
  auto again = decode(x.code.data(), x.code.size(), kFar);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->length, insn.length);
  EXPECT_EQ(again->text(), c.expected_text);
  EXPECT_FALSE(again->is_rip_relative());
  EXPECT_EQ(x.scratch_value + 0x1000, c.memory);
}

INSTANTIATE_TEST_SUITE_P(
    Relocate, RipRelativeFar,
    ::testing::Values(
        // mov rax, [rip+0x1000]: modrm 05 -> 86 (mod 10, rm rsi).
        FarCase{"48 8b 05 00 10 00 00", "48 8b 86 00 10 00 00", "mov rax, [rsi+0x1000]",
                reg::rsi, 0x402007},
        // lea rdi, [rip+0x1000]: modrm 3d -> be.
        FarCase{"48 8d 3d 00 10 00 00", "48 8d be 00 10 00 00", "lea rdi, [rsi+0x1000]",
                reg::rsi, 0x402007},
        // cmp byte ptr [rip+0x1000], 0: the imm8 after disp32 is kept.
        FarCase{"80 3d 00 10 00 00 00", "80 be 00 10 00 00 00",
                "cmp byte ptr [rsi+0x1000], 0x00", reg::rsi, 0x402007},
        // movsd xmm0, qword ptr [rip+0x1000]
        FarCase{"f2 0f 10 05 00 10 00 00", "f2 0f 10 86 00 10 00 00",
                "movsd xmm0, qword ptr [rsi+0x1000]", reg::rsi, 0x402008},
        // movaps xmm1, xmmword ptr [rip+0x1000]: modrm 0d -> 8e.
        FarCase{"0f 28 0d 00 10 00 00", "0f 28 8e 00 10 00 00",
                "movaps xmm1, [rsi+0x1000]", reg::rsi, 0x402007},
        // vmovdqu ymm0, [rip+0x1000] (2-byte VEX: no B bit to fix).
        FarCase{"c5 fe 6f 05 00 10 00 00", "c5 fe 6f 86 00 10 00 00",
                "vmovdqu ymm0, [rsi+0x1000]", reg::rsi, 0x402008},
        // The same with a 3-byte VEX whose ~B is 0 (meaningless for rip+disp,
        // but it would make the base r14): ~B set, c1 -> e1.
        FarCase{"c4 c1 7e 6f 05 00 10 00 00", "c4 e1 7e 6f 86 00 10 00 00",
                "vmovdqu ymm0, [rsi+0x1000]", reg::rsi, 0x402009},
        // add rsi, [rip+0x1000] reads and writes rsi: scratch is rdi (modrm 35 -> b7).
        FarCase{"48 03 35 00 10 00 00", "48 03 b7 00 10 00 00", "add rsi, [rdi+0x1000]",
                reg::rdi, 0x402007},
        // andn rsi, rdi, [rip+0x1000] uses rsi and rdi: scratch is rbx (35 -> b3).
        FarCase{"c4 e2 c0 f2 35 00 10 00 00", "c4 e2 c0 f2 b3 00 10 00 00",
                "andn rsi, rdi, [rbx+0x1000]", reg::rbx, 0x402009},
        // mulx rsi, rdi, [rip+0x1000] (rdx read implicitly): rbx.
        FarCase{"c4 e2 c3 f6 35 00 10 00 00", "c4 e2 c3 f6 b3 00 10 00 00",
                "mulx rsi, rdi, [rbx+0x1000]", reg::rbx, 0x402009},
        // andn rbx, rsi, [rip+0x1000]: rsi taken, rdi is next (1d -> 9f).
        FarCase{"c4 e2 c8 f2 1d 00 10 00 00", "c4 e2 c8 f2 9f 00 10 00 00",
                "andn rbx, rsi, [rdi+0x1000]", reg::rdi, 0x402009},
        // mov r9, [rip+0x1000]: REX.R (r9) kept, 4c stays 4c (modrm 0d -> 8e).
        FarCase{"4c 8b 0d 00 10 00 00", "4c 8b 8e 00 10 00 00", "mov r9, [rsi+0x1000]",
                reg::rsi, 0x402007},
        // mov [rip+0x1000], r12: REX.R kept (modrm 25 -> a6).
        FarCase{"4c 89 25 00 10 00 00", "4c 89 a6 00 10 00 00", "mov [rsi+0x1000], r12",
                reg::rsi, 0x402007},
        // A stray REX.B on rip+disp (ignored there) must be cleared, or the
        // base would become r14: 49 -> 48.
        FarCase{"49 8b 05 00 10 00 00", "48 8b 86 00 10 00 00", "mov rax, [rsi+0x1000]",
                reg::rsi, 0x402007},
        // cmpxchg16b [rip+0x1000]: rax/rbx/rcx/rdx are hidden operands; rsi is free.
        FarCase{"48 0f c7 0d 00 10 00 00", "48 0f c7 8e 00 10 00 00",
                "cmpxchg16b [rsi+0x1000]", reg::rsi, 0x402008}));

TEST(Relocate, NonRipInstructionsAreBoosted) {
  struct Case {
    const char* input;
    const char* expected;
  };
  // jmp back to site+len from kNear+len is always e9 fb 0f c1 ff.
  const Case cases[] = {
      {"55", "55 e9 fb 0f c1 ff"},                          // push rbp
      {"48 89 e5", "48 89 e5 e9 fb 0f c1 ff"},              // mov rbp, rsp
      {"48 83 ec 20", "48 83 ec 20 e9 fb 0f c1 ff"},        // sub rsp, 0x20
      {"f3 0f 1e fa", "f3 0f 1e fa e9 fb 0f c1 ff"},        // endbr64
      {"64 48 8b 04 25 28 00 00 00", "64 48 8b 04 25 28 00 00 00 e9 fb 0f c1 ff"},  // mov rax, fs:[0x28]
  };
  for (const Case& c : cases) {
    Instruction insn = insn_of(c.input, kSite);
    XolCode x = must_relocate(insn, kNear);
    EXPECT_EQ(hex_of(x.code), c.expected) << insn.text();
    EXPECT_FALSE(x.single_step);
    auto emitted = redecode(x.code, kNear);
    ASSERT_EQ(emitted.size(), 2u);
    EXPECT_EQ(emitted[0].insn.text(), insn.text());
    EXPECT_EQ(emitted[1].destination, kSite + insn.length);
  }
}

TEST(Relocate, JumpBackFromFarSlotIsAbsolute) {
  Instruction insn = insn_of("48 89 e5", kSite);  // mov rbp, rsp
  XolCode x = must_relocate(insn, kFar);
  EXPECT_EQ(hex_of(x.code), "48 89 e5 ff 25 00 00 00 00 03 10 40 00 00 00 00 00");
  auto emitted = redecode(x.code, kFar);
  ASSERT_EQ(emitted.size(), 2u);
  EXPECT_EQ(emitted[1].destination, kSite + 3);
}

TEST(Relocate, IndirectCallThroughRipIsStepped) {
  Instruction insn = insn_of("ff 15 00 10 00 00", kSite);  // call [rip+0x1000]
  EXPECT_EQ(insn.target(), 0x402006u);

  XolCode near = must_relocate(insn, kNear);
  EXPECT_EQ(hex_of(near.code), "ff 15 00 20 c1 ff");
  EXPECT_TRUE(near.single_step);
  EXPECT_TRUE(near.fix_call);
  EXPECT_FALSE(near.fix_ip);
  EXPECT_EQ(near.scratch_reg, -1);
  auto emitted = redecode(near.code, kNear);
  ASSERT_EQ(emitted.size(), 1u);
  EXPECT_EQ(emitted[0].destination, 0x402006u);

  XolCode far = must_relocate(insn, kFar);
  EXPECT_EQ(hex_of(far.code), "ff 96 00 10 00 00");  // call [rsi+0x1000]
  EXPECT_TRUE(far.single_step);
  EXPECT_TRUE(far.fix_call);
  EXPECT_FALSE(far.fix_ip);
  EXPECT_EQ(far.scratch_reg, reg::rsi);
  EXPECT_EQ(far.scratch_value, kSite + 6);
}

TEST(Relocate, IndirectJmpThroughRipIsStepped) {
  Instruction insn = insn_of("ff 25 00 10 00 00", kSite);  // jmp [rip+0x1000]
  XolCode near = must_relocate(insn, kNear);
  EXPECT_EQ(hex_of(near.code), "ff 25 00 20 c1 ff");
  EXPECT_TRUE(near.single_step);
  EXPECT_FALSE(near.fix_call);
  EXPECT_FALSE(near.fix_ip);  // rip after the step is the real target
  auto emitted = redecode(near.code, kNear);
  ASSERT_EQ(emitted.size(), 1u);
  EXPECT_EQ(emitted[0].insn.target(), 0x402006u);

  XolCode far = must_relocate(insn, kFar);
  EXPECT_EQ(hex_of(far.code), "ff a6 00 10 00 00");  // jmp [rsi+0x1000]
  EXPECT_EQ(far.scratch_reg, reg::rsi);
  EXPECT_FALSE(far.fix_ip);
}

TEST(Relocate, IndirectCallThroughRegisterIsStepped) {
  Instruction insn = insn_of("ff d0", kSite);  // call rax
  XolCode x = must_relocate(insn, kFar);
  EXPECT_EQ(hex_of(x.code), "ff d0");
  EXPECT_TRUE(x.single_step);
  EXPECT_TRUE(x.fix_call);
  EXPECT_FALSE(x.fix_ip);
  EXPECT_EQ(x.scratch_reg, -1);
}

TEST(Relocate, RelativeJmp) {
  Instruction insn = insn_of("eb 10", kSite);  // jmp 0x401012
  XolCode near = must_relocate(insn, kNear);
  EXPECT_EQ(hex_of(near.code), "e9 0d 10 c1 ff");
  EXPECT_EQ(redecode(near.code, kNear).at(0).destination, 0x401012u);
  XolCode far = must_relocate(insn, kFar);
  EXPECT_EQ(hex_of(far.code), "ff 25 00 00 00 00 12 10 40 00 00 00 00 00");
  EXPECT_EQ(redecode(far.code, kFar).at(0).destination, 0x401012u);
  EXPECT_FALSE(far.single_step);
}

// jcc/loop/jrcxz: "jcc +2; jmp +N; jmp target; jmp back", every destination checked.
void expect_conditional(const char* input, const char* near_bytes, uint64_t target) {
  Instruction insn = insn_of(input, kSite);
  ASSERT_EQ(insn.target(), target);
  XolCode x = must_relocate(insn, kNear);
  EXPECT_EQ(hex_of(x.code), near_bytes) << insn.text();
  EXPECT_FALSE(x.single_step);
  auto e = redecode(x.code, kNear);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].destination, kNear + 4);  // skips the short jmp
  EXPECT_EQ(e[0].insn.mnemonic(), insn.mnemonic());
  EXPECT_EQ(e[1].destination, kNear + 9);  // over the jump to the target
  EXPECT_EQ(e[2].destination, target);
  EXPECT_EQ(e[3].destination, kSite + insn.length);
}

TEST(Relocate, ConditionalBranches) {
  expect_conditional("74 10", "74 02 eb 05 e9 09 10 c1 ff e9 f4 0f c1 ff", 0x401012);
  // jnz rel32 becomes the short form: 0f 85 -> 75.
  expect_conditional("0f 85 00 01 00 00", "75 02 eb 05 e9 fd 10 c1 ff e9 f8 0f c1 ff", 0x401106);
  expect_conditional("e2 10", "e2 02 eb 05 e9 09 10 c1 ff e9 f4 0f c1 ff", 0x401012);  // loop
  expect_conditional("e3 10", "e3 02 eb 05 e9 09 10 c1 ff e9 f4 0f c1 ff", 0x401012);  // jrcxz
}

TEST(Relocate, ConditionalBranchFromFarSlot) {
  Instruction insn = insn_of("74 10", kSite);
  XolCode x = must_relocate(insn, kFar);
  EXPECT_EQ(hex_of(x.code),
            "74 02 eb 0e ff 25 00 00 00 00 12 10 40 00 00 00 00 00 "
            "ff 25 00 00 00 00 02 10 40 00 00 00 00 00");
  auto e = redecode(x.code, kFar);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].destination, kFar + 4);
  EXPECT_EQ(e[1].destination, kFar + 18);
  EXPECT_EQ(e[2].destination, 0x401012u);
  EXPECT_EQ(e[3].destination, 0x401002u);
  EXPECT_LE(x.code.size(), max_xol_size());
}

TEST(Relocate, RelativeCallPushesTheRealReturnAddress) {
  Instruction insn = insn_of("e8 00 01 00 00", kSite);  // call 0x401105
  XolCode x = must_relocate(insn, kFar);
  // lea rsp,[rsp-8]; mov dword [rsp],0x401005; mov dword [rsp+4],0; jmp [rip+0] 0x401105
  EXPECT_EQ(hex_of(x.code),
            "48 8d 64 24 f8 c7 04 24 05 10 40 00 c7 44 24 04 00 00 00 00 "
            "ff 25 00 00 00 00 05 11 40 00 00 00 00 00");
  EXPECT_FALSE(x.single_step);
  auto e = redecode(x.code, kFar);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].insn.text(), "lea rsp, [rsp-0x08]");
  EXPECT_EQ(e[1].insn.text(), "mov dword ptr [rsp], 0x401005");
  EXPECT_EQ(e[2].insn.text(), "mov dword ptr [rsp+0x04], 0x00");
  EXPECT_EQ(e[3].destination, 0x401105u);
  EXPECT_LE(x.code.size(), max_xol_size());

  XolCode near = must_relocate(insn, kNear);
  EXPECT_EQ(hex_of(near.code),
            "48 8d 64 24 f8 c7 04 24 05 10 40 00 c7 44 24 04 00 00 00 00 e9 ec 10 c1 ff");
}

TEST(Relocate, RetIsCopiedAsIs) {
  XolCode x = must_relocate(insn_of("c3", kSite), kFar);
  EXPECT_EQ(hex_of(x.code), "c3");
  EXPECT_FALSE(x.single_step);
  x = must_relocate(insn_of("c2 10 00", kSite), kFar);
  EXPECT_EQ(hex_of(x.code), "c2 10 00");
}

TEST(Relocate, RefusesDeniedInstructions) {
  auto r = relocate(insn_of("0f 05", kSite), kNear);  // syscall
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::denied_instruction);
}

TEST(Relocate, RefusesEipRelative) {
  auto r = relocate(insn_of("67 8b 05 00 10 00 00", kSite), kNear);  // mov eax, [eip+0x1000]
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::cannot_relocate);
}

TEST(BranchWriters, ExactBytes) {
  EXPECT_EQ(hex_of(jmp_rel32(0x1000, 0x2000)), "e9 fb 0f 00 00");
  EXPECT_EQ(hex_of(jmp_rel32(0x2000, 0x1000)), "e9 fb ef ff ff");
  EXPECT_EQ(hex_of(jmp_abs64(0x7fff12345678)), "ff 25 00 00 00 00 78 56 34 12 ff 7f 00 00");
  EXPECT_EQ(hex_of(jmp_to(0x1000, 0x2000)), "e9 fb 0f 00 00");
  EXPECT_EQ(jmp_to(0x1000, 0x7fff12345678).size(), 14u);
}

TEST(BranchWriters, Rel32Range) {
  EXPECT_TRUE(fits_rel32(0x100000000, 0x100000000 + 0x7fffffff));
  EXPECT_FALSE(fits_rel32(0x100000000, 0x100000000 + 0x80000000));
  EXPECT_TRUE(fits_rel32(0x100000000, 0x100000000 - 0x80000000));
  EXPECT_FALSE(fits_rel32(0x100000000, 0x100000000 - 0x80000001));
  // Wrap-around distances are measured as signed 64-bit differences.
  EXPECT_FALSE(fits_rel32(0x10, 0xfffffffffffffff0ull - 0x80000000));
  EXPECT_TRUE(fits_rel32(0x10, 0xfffffffffffffff0ull));
}

}  // namespace
}  // namespace probekit::x86
