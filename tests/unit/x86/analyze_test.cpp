// Decoding, the instruction-boundary check, the deny list and the plans.
#include "x86/x86.h"

#include <gtest/gtest.h>

#include "x86_test_util.h"

namespace probekit::x86 {
namespace {

using testing::bytes_of;
using testing::insn_of;

TEST(Decode, TextAndFacts) {
  Instruction i = insn_of("48 8b 05 3a 2f 00 00", 0x1000);
  EXPECT_EQ(i.length, 7);
  EXPECT_EQ(i.text(), "mov rax, [rip+0x2f3a]");
  EXPECT_EQ(i.mnemonic(), "mov");
  EXPECT_TRUE(i.is_rip_relative());
  EXPECT_EQ(i.target(), 0x1007u + 0x2f3a);

  Instruction j = insn_of("74 10", 0x401000);
  EXPECT_EQ(j.text(), "jz 0x0000000000401012");
  EXPECT_FALSE(j.is_rip_relative());
  EXPECT_EQ(j.target(), 0x401012u);

  Instruction k = insn_of("48 89 e5", 0x1000);
  EXPECT_EQ(k.text(), "mov rbp, rsp");
  EXPECT_EQ(k.target(), 0u);
}

TEST(Decode, StopsAtFifteenBytesAndReportsGarbage) {
  std::vector<uint8_t> b = bytes_of("55 48 89 e5");
  auto r = decode(b.data(), b.size(), 0x1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->length, 1);
  EXPECT_EQ(r->bytes[0], 0x55);

  std::vector<uint8_t> bad = bytes_of("0f ff ff");  // truncated ud0
  auto e = decode(bad.data(), 1, 0x2000);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(), "cannot decode an instruction at 0x2000 (bytes 0f)");
}

TEST(Decode, DecodeAllIsLinear) {
  // push rbp; mov rbp,rsp; sub rsp,0x20; leave; ret
  std::vector<uint8_t> b = bytes_of("55 48 89 e5 48 83 ec 20 c9 c3");
  auto r = decode_all(b, 0x1000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 5u);
  const uint64_t want[] = {0x1000, 0x1001, 0x1004, 0x1008, 0x1009};
  for (size_t k = 0; k < 5; ++k) EXPECT_EQ((*r)[k].address, want[k]);
  EXPECT_EQ((*r)[4].text(), "ret");

  std::vector<uint8_t> cut = bytes_of("55 48 89");  // last instruction cut off
  auto e = decode_all(cut, 0x1000);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("offset +0x1"), std::string::npos) << e.error().message();
}

TEST(Boundary, AcceptsEveryInstructionStart) {
  std::vector<uint8_t> b = bytes_of("55 48 89 e5 48 83 ec 20 c9 c3");
  for (uint64_t off : {0, 1, 4, 8, 9}) {
    EXPECT_TRUE(check_boundary(b, 0x1000, 0x1000 + off).ok()) << off;
  }
}

TEST(Boundary, RefusesInsideAnInstructionNamingTheNeighbours) {
  std::vector<uint8_t> b = bytes_of("55 48 89 e5 48 83 ec 20 c9 c3");
  Status s = check_boundary(b, 0x1000, 0x1003);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::not_instruction_boundary);
  EXPECT_EQ(s.error().message(),
            "offset 0x3 is inside 'mov rbp, rsp' at +0x1 (3 bytes); nearest boundaries are +0x1 "
            "and +0x4");

  s = check_boundary(b, 0x1000, 0x1006);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            "offset 0x6 is inside 'sub rsp, 0x20' at +0x4 (4 bytes); nearest boundaries are +0x4 "
            "and +0x8");
}

TEST(Boundary, RefusesOutsideTheFunction) {
  std::vector<uint8_t> b = bytes_of("55 c3");
  Status s = check_boundary(b, 0x1000, 0x1002);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::not_instruction_boundary);
  EXPECT_EQ(s.error().message(),
            "address 0x1002 is outside the function [0x1000, 0x1002); use an offset below 0x2");
  EXPECT_FALSE(check_boundary(b, 0x1000, 0xfff).ok());
}

struct Denied {
  const char* bytes;
  const char* reason;  // a fragment of the message
};

class DenyList : public ::testing::TestWithParam<Denied> {};

TEST_P(DenyList, RefusedWithReason) {
  Instruction insn = insn_of(GetParam().bytes, 0x1000);
  ASSERT_TRUE(insn.decoded);
  auto a = analyze(insn);
  ASSERT_FALSE(a.ok()) << insn.text() << " was accepted: " << a->note;
  EXPECT_EQ(a.error().kind(), ErrorKind::denied_instruction) << a.error().message();
  EXPECT_NE(a.error().message().find(GetParam().reason), std::string::npos)
      << a.error().message();
  EXPECT_EQ(a.error().message().rfind("cannot probe '" + insn.text() + "': ", 0), 0u)
      << a.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Analyze, DenyList,
    ::testing::Values(Denied{"cc", "int3 is a breakpoint already"},
                      Denied{"cd 80", "software interrupts"},
                      Denied{"f1", "software interrupts"},     // int1
                      Denied{"48 cf", "iret"},                 // iretq
                      Denied{"ec", "port I/O"},                // in al, dx
                      Denied{"ee", "port I/O"},                // out dx, al
                      Denied{"6c", "port I/O"},                // insb
                      Denied{"6f", "port I/O"},                // outsd
                      Denied{"f4", "hlt"},
                      Denied{"fa", "cli/sti"},
                      Denied{"fb", "cli/sti"},
                      Denied{"0f 05", "system-call"},          // syscall
                      Denied{"0f 34", "system-call"},          // sysenter
                      Denied{"0f 07", "system-call"},          // sysret
                      Denied{"0f 0b", "SIGILL"},               // ud2
                      Denied{"8e d0", "mov ss"},
                      Denied{"f0 83 00 01", "lock-prefixed"},  // lock add [rax], 1
                      Denied{"f0 48 0f b1 0a", "lock-prefixed"},  // lock cmpxchg [rdx], rcx
                      Denied{"26 8b 00", "segment-override"},  // es mov eax, [rax]
                      Denied{"2e 8b 00", "segment-override"},  // cs
                      Denied{"3e 8b 00", "segment-override"},  // ds
                      Denied{"36 8b 00", "segment-override"},  // ss
                      Denied{"66 e9 10 00 00 00", "0x66"},           // jmp rel16
                      Denied{"66 e8 10 00 00 00", "0x66"},           // call rel16
                      Denied{"66 0f 84 10 00 00 00", "0x66"},        // jz rel16
                      Denied{"66 c3", "0x66"},                 // ret with 0x66
                      Denied{"c7 f8 0a 00 00 00", "TSX"},      // xbegin
                      Denied{"0f 01 d5", "TSX"},               // xend
                      Denied{"0f 01 d6", "TSX"},               // xtest
                      Denied{"c6 f8 01", "TSX"},               // xabort 1
                      Denied{"62 f1 74 48 58 05 00 10 00 00", "EVEX"},  // vaddps zmm0, zmm1, [rip]
                      Denied{"ff 28", "far"},                  // jmp far [rax]
                      Denied{"ff 18", "far"},                  // call far [rax]
                      Denied{"cb", "far"},                     // retf
                      Denied{"0f 01 f9", "0f 01 group"},       // rdtscp
                      Denied{"0f 01 d0", "0f 01 group"},       // xgetbv
                      Denied{"0f ae f0", "0f ae group"},       // mfence
                      Denied{"0f ae 14 24", "0f ae group"},    // ldmxcsr [rsp]
                      Denied{"f3 48 0f ae c0", "0f ae group"},  // rdfsbase rax
                      Denied{"0f 30", "rdmsr/wrmsr"},          // wrmsr
                      Denied{"0f 32", "rdmsr/wrmsr"},          // rdmsr
                      Denied{"0f 00 c0", "0f 00 group"},       // sldt eax
                      Denied{"0f 09", "privileged"},           // wbinvd
                      Denied{"0f 78 c0", "vmread"}));

TEST(Analyze, DeniedMessageIsComplete) {
  auto a = analyze(insn_of("0f 05", 0x1000));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().message(),
            "cannot probe 'syscall': system-call instructions are refused (the kernel's return "
            "path and restart logic depend on the address of the instruction); probe another "
            "instruction");
}

struct Planned {
  const char* bytes;
  Plan plan;
  EmulationKind kind;
};

class Plans : public ::testing::TestWithParam<Planned> {};

TEST_P(Plans, Chosen) {
  Instruction insn = insn_of(GetParam().bytes, 0x1000);
  ASSERT_TRUE(insn.decoded);
  auto a = analyze(insn);
  ASSERT_TRUE(a.ok()) << insn.text() << ": " << a.error().message();
  EXPECT_EQ(a->plan, GetParam().plan) << insn.text() << ": " << a->note;
  EXPECT_EQ(a->emulation, GetParam().kind) << insn.text();
  EXPECT_FALSE(a->note.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Analyze, Plans,
    ::testing::Values(
        Planned{"eb 10", Plan::emulate, EmulationKind::jmp_rel},
        Planned{"e9 00 01 00 00", Plan::emulate, EmulationKind::jmp_rel},
        Planned{"f2 e9 00 01 00 00", Plan::emulate, EmulationKind::jmp_rel},  // bnd jmp
        Planned{"74 10", Plan::emulate, EmulationKind::jcc},
        Planned{"0f 8f 00 01 00 00", Plan::emulate, EmulationKind::jcc},
        Planned{"3e 74 10", Plan::emulate, EmulationKind::jcc},  // ds = branch-taken hint
        Planned{"e8 00 01 00 00", Plan::emulate, EmulationKind::call_rel},
        Planned{"c3", Plan::emulate, EmulationKind::ret},
        Planned{"f3 c3", Plan::emulate, EmulationKind::ret},
        Planned{"c2 08 00", Plan::emulate, EmulationKind::ret_imm},
        Planned{"90", Plan::emulate, EmulationKind::nop},
        Planned{"0f 1f 40 00", Plan::emulate, EmulationKind::nop},
        Planned{"66 2e 0f 1f 84 00 00 00 00 00", Plan::emulate, EmulationKind::nop},
        Planned{"f3 0f 1e fa", Plan::emulate, EmulationKind::nop},  // endbr64
        Planned{"55", Plan::emulate, EmulationKind::push_reg},
        Planned{"41 57", Plan::emulate, EmulationKind::push_reg},  // push r15
        Planned{"54", Plan::emulate, EmulationKind::push_reg},     // push rsp
        Planned{"e2 10", Plan::emulate, EmulationKind::loop},
        Planned{"e1 10", Plan::emulate, EmulationKind::loop},
        Planned{"e3 10", Plan::emulate, EmulationKind::jrcxz},
        Planned{"67 e3 10", Plan::emulate, EmulationKind::jrcxz},
        Planned{"ff d0", Plan::step, EmulationKind::none},                // call rax
        Planned{"ff e0", Plan::step, EmulationKind::none},                // jmp rax
        Planned{"3e ff e0", Plan::step, EmulationKind::none},             // notrack jmp rax
        Planned{"ff 15 00 10 00 00", Plan::step, EmulationKind::none},    // call [rip+x]
        Planned{"ff 24 c5 00 10 40 00", Plan::step, EmulationKind::none},  // jmp [rax*8+x]
        Planned{"48 89 e5", Plan::boost, EmulationKind::none},
        Planned{"48 83 ec 20", Plan::boost, EmulationKind::none},
        Planned{"48 8b 05 00 10 00 00", Plan::boost, EmulationKind::none},
        Planned{"66 50", Plan::boost, EmulationKind::none},              // push ax
        Planned{"ff 35 00 10 00 00", Plan::boost, EmulationKind::none},  // push [rip+x]
        Planned{"9c", Plan::boost, EmulationKind::none},                 // pushf
        Planned{"0f a2", Plan::boost, EmulationKind::none},              // cpuid
        Planned{"0f 31", Plan::boost, EmulationKind::none},              // rdtsc
        Planned{"f3 a4", Plan::boost, EmulationKind::none},              // rep movsb
        Planned{"64 48 8b 04 25 28 00 00 00", Plan::boost, EmulationKind::none},  // fs: ok
        Planned{"48 0f c7 0d 00 10 00 00", Plan::boost, EmulationKind::none}));   // cmpxchg16b

TEST(Analyze, RefusesWhatCannotBeRelocated) {
  auto a = analyze(insn_of("67 e2 10", 0x1000));  // loopd (ecx counter)
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().kind(), ErrorKind::cannot_relocate);
  a = analyze(insn_of("67 48 8b 05 00 10 00 00", 0x1000));  // mov rax, [eip+x]
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().kind(), ErrorKind::cannot_relocate);
}

TEST(Analyze, Names) {
  EXPECT_STREQ(to_string(Plan::boost), "boost");
  EXPECT_STREQ(to_string(EmulationKind::push_reg), "push_reg");
}

}  // namespace
}  // namespace probekit::x86

namespace probekit::x86 {
namespace {

TEST(Analyze, UndecodedInstructionIsAnInternalError) {
  Instruction none;
  auto a = analyze(none);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().kind(), ErrorKind::internal);
  auto r = relocate(none, 0x1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::internal);
  user_regs_struct regs{};
  EXPECT_FALSE(emulate(none, EmulationKind::nop, regs, StackAccess{}).ok());
  EXPECT_FALSE(condition_taken(none, regs));
}

}  // namespace
}  // namespace probekit::x86
