// x86/emulate.cpp — running a probed instruction's effect in the tracer.
//
// For branches, ret, nops and push reg the effect on the registers is small
// and exactly known, so the tracer applies it to the stopped thread's
// registers instead of executing anything: one ptrace stop per hit and no
// out-of-line slot (kernel uprobes' branch_emulate_op/push_emulate_op,
// kprobes' kprobe_emulate_*). Stack memory goes through callbacks so this
// layer needs no ptrace. Registers change only when every memory access
// succeeded, so a failed push leaves the thread as it was (the engine can
// then run the instruction out of line and let the real fault happen).
#include "x86/x86.h"

#include <cstdio>

#include "x86/decoded.h"

namespace probekit::x86 {

namespace {

constexpr uint64_t kCf = 1u << 0, kPf = 1u << 2, kZf = 1u << 6, kSf = 1u << 7, kOf = 1u << 11;

bool jcc_taken(uint8_t cc, uint64_t flags) {
  const bool cf = flags & kCf, pf = flags & kPf, zf = flags & kZf, sf = flags & kSf,
             of = flags & kOf;
  bool r = false;
  switch (cc >> 1) {
    case 0: r = of; break;             // jo / jno
    case 1: r = cf; break;             // jb / jae
    case 2: r = zf; break;             // jz / jnz
    case 3: r = cf || zf; break;       // jbe / ja
    case 4: r = sf; break;             // js / jns
    case 5: r = pf; break;             // jp / jnp
    case 6: r = sf != of; break;       // jl / jge
    case 7: r = zf || sf != of; break; // jle / jg
  }
  return (cc & 1) ? !r : r;
}

Error mismatch(const Instruction& insn, EmulationKind kind) {
  return Error("cannot emulate '" + insn.text() + "' as " + to_string(kind),
               ErrorKind::internal);
}

}  // namespace

uint64_t& reg_at(user_regs_struct& regs, int index) {
  static_assert(sizeof(user_regs_struct) == reg::count * sizeof(uint64_t));
  assert(index >= 0 && index < reg::count);
  return reinterpret_cast<uint64_t*>(&regs)[index];
}

uint64_t reg_at(const user_regs_struct& regs, int index) {
  assert(index >= 0 && index < reg::count);
  return reinterpret_cast<const uint64_t*>(&regs)[index];
}

const char* reg_name(int index) {
  static const char* const names[reg::count] = {
      "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9",
      "r8",  "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs",
      "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs"};
  if (index < 0 || index >= reg::count) return "?";
  return names[index];
}

bool condition_taken(const Instruction& insn, const user_regs_struct& regs) {
  if (!insn.decoded) return false;
  const ZydisDecodedInstruction& i = detail::decoded_of(insn).insn;
  const bool wide = i.address_width == 64;
  const uint64_t count = wide ? regs.rcx : (regs.rcx & 0xffffffffu);
  switch (i.mnemonic) {
    case ZYDIS_MNEMONIC_JRCXZ:
    case ZYDIS_MNEMONIC_JECXZ:
      return count == 0;
    case ZYDIS_MNEMONIC_LOOP:
      return count - 1 != 0;
    case ZYDIS_MNEMONIC_LOOPE:
      return count - 1 != 0 && (regs.eflags & kZf);
    case ZYDIS_MNEMONIC_LOOPNE:
      return count - 1 != 0 && !(regs.eflags & kZf);
    default:
      break;
  }
  if (i.meta.category != ZYDIS_CATEGORY_COND_BR) return false;
  // 7x rel8 and 0f 8x rel32 both carry the condition in the low nibble.
  return jcc_taken(i.opcode & 0x0f, regs.eflags);
}

Status emulate(const Instruction& insn, EmulationKind kind, user_regs_struct& regs,
               const StackAccess& mem) {
  if (!insn.decoded) return Error("emulate: instruction was not decoded", ErrorKind::internal);
  const detail::Decoded& d = detail::decoded_of(insn);
  const ZydisDecodedInstruction& i = d.insn;
  const uint64_t next = insn.address + insn.length;
  const bool relative = detail::relative_branch_operand(d) != nullptr;

  switch (kind) {
    case EmulationKind::none:
      return mismatch(insn, kind);
    case EmulationKind::nop:
      if (i.mnemonic != ZYDIS_MNEMONIC_NOP && i.mnemonic != ZYDIS_MNEMONIC_ENDBR64 &&
          i.mnemonic != ZYDIS_MNEMONIC_ENDBR32) {
        return mismatch(insn, kind);
      }
      regs.rip = next;
      return {};
    case EmulationKind::jmp_rel:
      if (i.mnemonic != ZYDIS_MNEMONIC_JMP || !relative) return mismatch(insn, kind);
      regs.rip = insn.target();
      return {};
    case EmulationKind::jcc:
      if (i.meta.category != ZYDIS_CATEGORY_COND_BR || !relative ||
          i.mnemonic == ZYDIS_MNEMONIC_JRCXZ || i.mnemonic == ZYDIS_MNEMONIC_JECXZ ||
          i.mnemonic == ZYDIS_MNEMONIC_LOOP || i.mnemonic == ZYDIS_MNEMONIC_LOOPE ||
          i.mnemonic == ZYDIS_MNEMONIC_LOOPNE) {
        return mismatch(insn, kind);
      }
      regs.rip = condition_taken(insn, regs) ? insn.target() : next;
      return {};
    case EmulationKind::jrcxz:
      if (i.mnemonic != ZYDIS_MNEMONIC_JRCXZ && i.mnemonic != ZYDIS_MNEMONIC_JECXZ) {
        return mismatch(insn, kind);
      }
      regs.rip = condition_taken(insn, regs) ? insn.target() : next;
      return {};
    case EmulationKind::loop: {
      if ((i.mnemonic != ZYDIS_MNEMONIC_LOOP && i.mnemonic != ZYDIS_MNEMONIC_LOOPE &&
           i.mnemonic != ZYDIS_MNEMONIC_LOOPNE) ||
          i.address_width != 64) {
        return mismatch(insn, kind);
      }
      const bool taken = condition_taken(insn, regs);
      regs.rcx -= 1;
      regs.rip = taken ? insn.target() : next;
      return {};
    }
    case EmulationKind::call_rel: {
      if (i.mnemonic != ZYDIS_MNEMONIC_CALL || !relative) return mismatch(insn, kind);
      const uint64_t sp = regs.rsp - 8;
      PK_TRY(mem.write_u64(sp, next));
      regs.rsp = sp;
      regs.rip = insn.target();
      return {};
    }
    case EmulationKind::ret:
    case EmulationKind::ret_imm: {
      if (i.mnemonic != ZYDIS_MNEMONIC_RET || i.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) {
        return mismatch(insn, kind);
      }
      const int imm = detail::find_operand(d, ZYDIS_OPERAND_TYPE_IMMEDIATE);
      if ((kind == EmulationKind::ret_imm) != (imm >= 0)) return mismatch(insn, kind);
      auto ret = mem.read_u64(regs.rsp);
      if (!ret) return std::move(ret).error();
      const uint64_t release = imm >= 0 ? d.ops[imm].imm.value.u & 0xffff : 0;
      regs.rsp += 8 + release;
      regs.rip = *ret;
      return {};
    }
    case EmulationKind::push_reg: {
      if (i.mnemonic != ZYDIS_MNEMONIC_PUSH || d.ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER ||
          ZydisRegisterGetClass(d.ops[0].reg.value) != ZYDIS_REGCLASS_GPR64) {
        return mismatch(insn, kind);
      }
      // push rsp stores the value rsp had before the push.
      const uint64_t value = reg_at(regs, detail::user_reg_index(d.ops[0].reg.value));
      const uint64_t sp = regs.rsp - 8;
      PK_TRY(mem.write_u64(sp, value));
      regs.rsp = sp;
      regs.rip = next;
      return {};
    }
  }
  return mismatch(insn, kind);
}

}  // namespace probekit::x86
