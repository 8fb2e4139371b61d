// x86/analyze.cpp — "can I probe this instruction, and how?"
//
// The deny list is kernel uprobes' (arch/x86/kernel/uprobes.c, see
// /work/shared/reference/mechanism.md §1.1), taken as the intended list: an
// instruction is refused when running a copy of it elsewhere, or emulating
// it, would change what the program sees (privileged or trapping
// instructions, TSX, segment tricks, far transfers, prefixes whose meaning
// differs between CPU vendors). Each refusal carries a reason a user can act
// on (probe a neighbouring instruction).
//
// Everything else gets a plan, cheapest first: emulate in the tracer
// (branches, ret, nop, push reg: kernel branch_setup_xol_ops/push_setup_xol_ops
// plus kprobes' loop/ret emulation), boost (copy + jump back, no single-step)
// for instructions that cannot change rip, and step for the rest (indirect
// call/jmp).
//
// Deliberate deviations from the kernel: a CS/DS prefix is accepted where it
// is a branch hint (2e/3e on jcc), a CET `notrack` (3e on indirect call/jmp)
// or padding on a nop (the "cs nopw" gcc emits between functions): none of
// these changes the memory an instruction touches.
#include "x86/x86.h"

#include <cstdio>

#include "x86/decoded.h"

namespace probekit::x86 {

namespace {

Error denied(const Instruction& insn, const std::string& why) {
  return Error("cannot probe '" + insn.text() + "': " + why + "; probe another instruction",
               ErrorKind::denied_instruction);
}

bool is_legacy_0f(const ZydisDecodedInstruction& i, uint8_t opcode) {
  return i.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY && i.opcode_map == ZYDIS_OPCODE_MAP_0F &&
         i.opcode == opcode;
}

bool is_nop(const ZydisDecodedInstruction& i) {
  return i.mnemonic == ZYDIS_MNEMONIC_NOP || i.mnemonic == ZYDIS_MNEMONIC_ENDBR64 ||
         i.mnemonic == ZYDIS_MNEMONIC_ENDBR32;
}

bool is_branch(const ZydisDecodedInstruction& i) {
  switch (i.meta.category) {
    case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_RET:
      return true;
    default:
      return false;
  }
}

// The refusal reason, or an empty string when insn may be probed.
std::string deny_reason(const detail::Decoded& d) {
  const ZydisDecodedInstruction& i = d.insn;
  const auto attrs = i.attributes;

  if (attrs & ZYDIS_ATTRIB_HAS_LOCK) {
    return "lock-prefixed instructions are refused (uprobes: an atomic read-modify-write run "
           "out of line is not atomic with respect to the original location's users)";
  }
  // Segment prefixes: harmless as a branch hint, notrack or on padding nops.
  const bool benign_segment = is_nop(i) || (attrs & ZYDIS_ATTRIB_HAS_NOTRACK) ||
                              (attrs & ZYDIS_ATTRIB_HAS_BRANCH_TAKEN) ||
                              (attrs & ZYDIS_ATTRIB_HAS_BRANCH_NOT_TAKEN);
  // Zydis marks these prefixes "ignored" in 64-bit mode (no HAS_SEGMENT_*
  // attribute), so look at the raw prefix bytes, as the kernel does.
  for (int k = 0; k < i.raw.prefix_count && !benign_segment; ++k) {
    switch (i.raw.prefixes[k].value) {
      case 0x26:
      case 0x2e:
      case 0x36:
      case 0x3e:
        return "ES/CS/DS/SS segment-override prefixes are refused (uprobes' is_prefix_bad)";
      default:
        break;
    }
  }
  if (is_branch(i) && (attrs & ZYDIS_ATTRIB_HAS_OPERANDSIZE)) {
    return "branches with a 0x66 operand-size prefix are refused (Intel and AMD CPUs disagree "
           "on their target width)";
  }

  switch (i.mnemonic) {
    case ZYDIS_MNEMONIC_INT3:
      return "int3 is a breakpoint already (another debugger or a compiled-in trap)";
    case ZYDIS_MNEMONIC_INT:
    case ZYDIS_MNEMONIC_INTO:
    case ZYDIS_MNEMONIC_INT1:
      return "software interrupts trap into the kernel, whose single-step handling of them is "
             "fragile";
    case ZYDIS_MNEMONIC_IRET:
    case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_IRETQ:
      return "iret changes the code and stack segments";
    case ZYDIS_MNEMONIC_IN:
    case ZYDIS_MNEMONIC_OUT:
    case ZYDIS_MNEMONIC_INSB:
    case ZYDIS_MNEMONIC_INSW:
    case ZYDIS_MNEMONIC_INSD:
    case ZYDIS_MNEMONIC_OUTSB:
    case ZYDIS_MNEMONIC_OUTSW:
    case ZYDIS_MNEMONIC_OUTSD:
      return "port I/O instructions are privileged";
    case ZYDIS_MNEMONIC_HLT:
      return "hlt is privileged";
    case ZYDIS_MNEMONIC_CLI:
    case ZYDIS_MNEMONIC_STI:
      return "cli/sti change the interrupt flag";
    case ZYDIS_MNEMONIC_SYSCALL:
    case ZYDIS_MNEMONIC_SYSENTER:
    case ZYDIS_MNEMONIC_SYSEXIT:
    case ZYDIS_MNEMONIC_SYSRET:
      return "system-call instructions are refused (the kernel's return path and restart logic "
             "depend on the address of the instruction)";
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2:
      return "ud0/ud1/ud2 raise SIGILL on purpose";
    case ZYDIS_MNEMONIC_XBEGIN:
    case ZYDIS_MNEMONIC_XEND:
    case ZYDIS_MNEMONIC_XABORT:
    case ZYDIS_MNEMONIC_XTEST:
      return "TSX transactions abort on the breakpoint trap";
    case ZYDIS_MNEMONIC_WRMSR:
    case ZYDIS_MNEMONIC_RDMSR:
      return "rdmsr/wrmsr are privileged";
    default:
      break;
  }
  if (i.mnemonic == ZYDIS_MNEMONIC_MOV && d.ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
      d.ops[0].reg.value == ZYDIS_REGISTER_SS) {
    return "mov ss masks interrupts and traps for one instruction";
  }
  if (i.mnemonic == ZYDIS_MNEMONIC_POP && d.ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
      d.ops[0].reg.value == ZYDIS_REGISTER_SS) {
    return "pop ss masks interrupts and traps for one instruction";
  }
  if (i.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) {
    return "far jumps, calls and returns change the code segment";
  }
  if (attrs & ZYDIS_ATTRIB_HAS_EVEX) {
    // The relocator could patch an EVEX disp32, but the kernel refuses EVEX
    // and nothing here is tested on AVX-512 hardware: refuse, like uprobes.
    return "EVEX (AVX-512) instructions are not supported";
  }
  if (attrs & ZYDIS_ATTRIB_HAS_MVEX) return "MVEX instructions are not supported";
  if (is_legacy_0f(i, 0x00)) return "the 0f 00 group (sldt, str, lldt, ltr, verr) is system-level";
  if (is_legacy_0f(i, 0x01)) {
    return "the 0f 01 group (xgetbv, rdtscp, xend/xtest, monitor/mwait, swapgs, ...) is refused "
           "(uprobes' deny list)";
  }
  if (is_legacy_0f(i, 0x06) || is_legacy_0f(i, 0x08) || is_legacy_0f(i, 0x09)) {
    return "clts/invd/wbinvd are privileged";
  }
  if (is_legacy_0f(i, 0x37)) return "getsec is refused (uprobes' deny list)";
  if (is_legacy_0f(i, 0x78) || is_legacy_0f(i, 0x79)) {
    return "vmread/vmwrite are refused (uprobes' deny list)";
  }
  if (is_legacy_0f(i, 0xae)) {
    return "the 0f ae group (fences, fxsave/xsave/xrstor, ldmxcsr/stmxcsr, clflush, "
           "rd/wrfsbase) is refused (uprobes' deny list)";
  }
  if (attrs & ZYDIS_ATTRIB_IS_PRIVILEGED) return "privileged instructions fault in user space";
  return "";
}

}  // namespace

const char* to_string(EmulationKind kind) {
  switch (kind) {
    case EmulationKind::none: return "none";
    case EmulationKind::jmp_rel: return "jmp_rel";
    case EmulationKind::jcc: return "jcc";
    case EmulationKind::call_rel: return "call_rel";
    case EmulationKind::ret: return "ret";
    case EmulationKind::ret_imm: return "ret_imm";
    case EmulationKind::nop: return "nop";
    case EmulationKind::push_reg: return "push_reg";
    case EmulationKind::loop: return "loop";
    case EmulationKind::jrcxz: return "jrcxz";
  }
  return "?";
}

const char* to_string(Plan plan) {
  switch (plan) {
    case Plan::emulate: return "emulate";
    case Plan::boost: return "boost";
    case Plan::step: return "step";
  }
  return "?";
}

Result<Analysis> analyze(const Instruction& insn) {
  if (!insn.decoded) return Error("analyze: instruction was not decoded", ErrorKind::internal);
  const detail::Decoded& d = detail::decoded_of(insn);
  const ZydisDecodedInstruction& i = d.insn;

  if (std::string why = deny_reason(d); !why.empty()) return denied(insn, why);

  if (i.address_width == 32 && detail::rip_relative_operand(d)) {
    return Error("cannot relocate '" + insn.text() +
                     "': eip-relative addressing (0x67 prefix) is not supported",
                 ErrorKind::cannot_relocate);
  }

  auto emulate = [](EmulationKind k, std::string note) {
    return Analysis{Plan::emulate, k, std::move(note)};
  };
  const bool relative = detail::relative_branch_operand(d) != nullptr;
  switch (i.mnemonic) {
    case ZYDIS_MNEMONIC_JMP:
      if (relative) return emulate(EmulationKind::jmp_rel, "relative jmp: rip = target");
      return Analysis{Plan::step, EmulationKind::none,
                      "indirect jmp: single-step the copy, rip is the real target"};
    case ZYDIS_MNEMONIC_CALL:
      if (relative) {
        return emulate(EmulationKind::call_rel, "relative call: push the return address, rip = target");
      }
      return Analysis{Plan::step, EmulationKind::none,
                      "indirect call: single-step the copy, then fix the pushed return address"};
    case ZYDIS_MNEMONIC_RET:
      if (detail::find_operand(d, ZYDIS_OPERAND_TYPE_IMMEDIATE) >= 0) {
        return emulate(EmulationKind::ret_imm, "ret imm16: pop rip, release the arguments");
      }
      return emulate(EmulationKind::ret, "ret: pop rip");
    case ZYDIS_MNEMONIC_LOOP:
    case ZYDIS_MNEMONIC_LOOPE:
    case ZYDIS_MNEMONIC_LOOPNE:
      if (i.address_width != 64) {
        return Error("cannot relocate '" + insn.text() +
                         "': loop with a 32-bit counter (0x67 prefix) is not supported",
                     ErrorKind::cannot_relocate);
      }
      return emulate(EmulationKind::loop, "loop: decrement rcx, branch on rcx (and zf)");
    case ZYDIS_MNEMONIC_JRCXZ:
    case ZYDIS_MNEMONIC_JECXZ:
      return emulate(EmulationKind::jrcxz, "jrcxz: branch when the counter is zero");
    default:
      break;
  }
  if (i.meta.category == ZYDIS_CATEGORY_COND_BR && relative) {
    return emulate(EmulationKind::jcc, "conditional jump: evaluate the flags in the tracer");
  }
  if (is_nop(i)) return emulate(EmulationKind::nop, "nop: rip += length");
  if (i.mnemonic == ZYDIS_MNEMONIC_PUSH && d.ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
      ZydisRegisterGetClass(d.ops[0].reg.value) == ZYDIS_REGCLASS_GPR64) {
    return emulate(EmulationKind::push_reg, "push reg: store through the stack callbacks");
  }
  if (is_branch(i)) {
    // Every branch form above is handled; anything else (e.g. a new kind of
    // return) must not be boosted blindly.
    return Error("cannot relocate '" + insn.text() + "': unsupported branch form",
                 ErrorKind::cannot_relocate);
  }
  if (detail::rip_relative_operand(d)) {
    return Analysis{Plan::boost, EmulationKind::none,
                    "rip-relative: copy with disp32 adjusted to the slot and jump back (a slot "
                    "beyond ±2GB needs a scratch register and a single-step)"};
  }
  return Analysis{Plan::boost, EmulationKind::none,
                  "does not read or change rip: run a copy and jump back"};
}

}  // namespace probekit::x86
