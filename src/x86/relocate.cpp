// x86/relocate.cpp — out-of-line copies of probed instructions, and the
// hand-written branches they end with.
//
// The one idea: never re-encode. The copy is the original bytes with at most
// three bytes changed in place (the disp32, or the ModRM byte plus the REX/VEX
// B bit), followed by branches written here byte by byte. Zydis 4.0.0's
// encoder mis-encodes some branches (zydis#463 BND off-by-one, zydis#478
// unenforced size prediction; /work/shared/reference/mechanism.md §7), and
// byte patching is what the kernel, Frida and Orbit do anyway. Every copy is
// re-decoded before it is returned, and the absolute target it names is
// compared with the original's.
//
// A rip-relative operand is kept pointing at the same absolute address:
//   * slot within ±2GB of the target: disp32 += site - slot (boost, no step);
//   * otherwise the kernel's/gdb's scratch-register rewrite: [rip+disp] ->
//     [rX+disp] with rX = site+len loaded by the tracer, REX.B cleared and
//     VEX3 ~B set so rX stays in rax..rdi; the copy is single-stepped and the
//     tracer restores rX afterwards. rX is a register the instruction does not
//     name at all, hidden operands included (Zydis lists them).
#include "x86/x86.h"

#include <cstdio>
#include <cstring>

#include "x86/decoded.h"

namespace probekit::x86 {

namespace {

void put_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_le64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void append(std::vector<uint8_t>& out, const std::vector<uint8_t>& more) {
  out.insert(out.end(), more.begin(), more.end());
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

Error cannot(const Instruction& insn, const std::string& why) {
  return Error("cannot relocate '" + insn.text() + "': " + why, ErrorKind::cannot_relocate);
}

// Scratch candidates in the kernel's order (rsi, rdi, rbx: cmpxchg8b and
// friends use ax/cx/dx implicitly), then the rest of rax..rdi that a ModRM
// base can name without a SIB byte (not rsp). Hardware number + user_regs index.
struct Candidate {
  uint8_t hw;
  int user_index;
};
constexpr Candidate kScratch[] = {{6, reg::rsi}, {7, reg::rdi}, {3, reg::rbx}, {1, reg::rcx},
                                  {2, reg::rdx}, {0, reg::rax}, {5, reg::rbp}};

// Every GPR the instruction reads or writes, explicitly or not.
uint32_t used_gprs(const detail::Decoded& d) {
  uint32_t used = 1u << reg::rsp;  // never borrow the stack pointer
  auto mark = [&](ZydisRegister r) {
    if (int idx = detail::user_reg_index(r); idx >= 0) used |= 1u << idx;
  };
  for (int k = 0; k < d.insn.operand_count; ++k) {
    const auto& op = d.ops[k];
    if (op.type == ZYDIS_OPERAND_TYPE_REGISTER) mark(op.reg.value);
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      mark(op.mem.base);
      mark(op.mem.index);
    }
  }
  return used;
}

// Decodes code at slot and checks that its memory operand resolves to want.
Status verify_memory_target(const Instruction& orig, const std::vector<uint8_t>& code,
                            uint64_t slot, uint64_t want, const user_regs_struct* regs) {
  auto again = decode(code.data(), code.size(), slot);
  if (!again || again->length != orig.length) {
    return Error("re-decoding the relocated copy of '" + orig.text() + "' failed",
                 ErrorKind::internal);
  }
  const detail::Decoded& d = detail::decoded_of(*again);
  for (int k = 0; k < d.insn.operand_count_visible; ++k) {
    const auto& op = d.ops[k];
    if (op.type != ZYDIS_OPERAND_TYPE_MEMORY) continue;
    uint64_t got = 0;
    if (op.mem.base == ZYDIS_REGISTER_RIP) {
      ZyanU64 abs = 0;
      if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&d.insn, &op, slot, &abs))) got = abs;
    } else if (regs && op.mem.index == ZYDIS_REGISTER_NONE &&
               detail::user_reg_index(op.mem.base) >= 0 &&
               ZydisRegisterGetClass(op.mem.base) == ZYDIS_REGCLASS_GPR64) {
      got = reg_at(*regs, detail::user_reg_index(op.mem.base)) +
            static_cast<uint64_t>(op.mem.disp.value);
    }
    if (got == want) return {};
    return Error("relocated copy of '" + orig.text() + "' addresses " + hex(got) +
                     " instead of " + hex(want),
                 ErrorKind::internal);
  }
  return Error("relocated copy of '" + orig.text() + "' lost its memory operand",
               ErrorKind::internal);
}

// The short form of a conditional branch (jcc rel8, loop*, jrcxz) that skips
// the 2-byte jmp after it: the opcode (with a 0x67 prefix for jecxz) and a
// rel8 of +2.
std::vector<uint8_t> short_branch_over_next(const Instruction& insn) {
  const ZydisDecodedInstruction& i = detail::decoded_of(insn).insn;
  std::vector<uint8_t> out;
  switch (i.mnemonic) {
    case ZYDIS_MNEMONIC_LOOP:
    case ZYDIS_MNEMONIC_LOOPE:
    case ZYDIS_MNEMONIC_LOOPNE:
    case ZYDIS_MNEMONIC_JRCXZ:
    case ZYDIS_MNEMONIC_JECXZ:
      if (i.address_width == 32) out.push_back(0x67);
      out.push_back(i.opcode);  // e0..e3
      break;
    default:
      out.push_back(static_cast<uint8_t>(0x70 | (i.opcode & 0x0f)));
      break;
  }
  out.push_back(0x02);
  return out;
}

}  // namespace

bool fits_rel32(uint64_t from_next, uint64_t to) {
  const auto delta = static_cast<int64_t>(to - from_next);
  return delta >= INT32_MIN && delta <= INT32_MAX;
}

std::vector<uint8_t> jmp_rel32(uint64_t from, uint64_t to) {
  assert(fits_rel32(from + 5, to) && "jmp_rel32 target out of ±2GB range");
  std::vector<uint8_t> out{0xe9};
  put_le32(out, static_cast<uint32_t>(to - (from + 5)));
  return out;
}

std::vector<uint8_t> jmp_abs64(uint64_t to) {
  std::vector<uint8_t> out{0xff, 0x25, 0x00, 0x00, 0x00, 0x00};  // jmp qword ptr [rip+0]
  put_le64(out, to);
  return out;
}

std::vector<uint8_t> jmp_to(uint64_t from, uint64_t to) {
  return fits_rel32(from + 5, to) ? jmp_rel32(from, to) : jmp_abs64(to);
}

size_t max_xol_size() {
  // Longest sequence: a relocated call (5 + 7 + 8 + 14 = 34 bytes) or a
  // 15-byte instruction + a 14-byte absolute jump back (29).
  return 64;
}

Result<XolCode> relocate(const Instruction& insn, uint64_t slot) {
  auto analysis = analyze(insn);
  if (!analysis) return std::move(analysis).error();
  const detail::Decoded& d = detail::decoded_of(insn);
  const uint64_t next = insn.address + insn.length;
  XolCode x;

  switch (analysis->emulation) {
    case EmulationKind::jmp_rel:
      x.code = jmp_to(slot, insn.target());
      return x;
    case EmulationKind::jcc:
    case EmulationKind::loop:
    case EmulationKind::jrcxz: {
      // jcc +2 ; jmp +N ; jmp target ; jmp back  (rel8 loop/jrcxz cannot reach
      // far, and jcc has no 64-bit form, so branch over an unconditional jump).
      x.code = short_branch_over_next(insn);
      const uint64_t taken_at = slot + x.code.size() + 2;
      const std::vector<uint8_t> to_target = jmp_to(taken_at, insn.target());
      x.code.push_back(0xeb);
      x.code.push_back(static_cast<uint8_t>(to_target.size()));
      append(x.code, to_target);
      append(x.code, jmp_to(slot + x.code.size(), next));
      return x;
    }
    case EmulationKind::call_rel: {
      // A push of the real return address without touching the flags, then
      // the jump: lea rsp,[rsp-8]; mov dword [rsp],lo; mov dword [rsp+4],hi.
      x.code = {0x48, 0x8d, 0x64, 0x24, 0xf8, 0xc7, 0x04, 0x24};
      put_le32(x.code, static_cast<uint32_t>(next));
      append(x.code, {0xc7, 0x44, 0x24, 0x04});
      put_le32(x.code, static_cast<uint32_t>(next >> 32));
      append(x.code, jmp_to(slot + x.code.size(), insn.target()));
      return x;
    }
    case EmulationKind::ret:
    case EmulationKind::ret_imm:
      // The copy leaves through the return address itself.
      x.code.assign(insn.bytes.begin(), insn.bytes.begin() + insn.length);
      return x;
    default:
      break;
  }

  const bool is_call = d.insn.mnemonic == ZYDIS_MNEMONIC_CALL;
  const bool is_jmp = d.insn.mnemonic == ZYDIS_MNEMONIC_JMP;
  x.code.assign(insn.bytes.begin(), insn.bytes.begin() + insn.length);
  // Indirect call/jmp: rip after the step is the real target; a call pushed
  // slot+len, which the tracer rewrites.
  x.single_step = is_call || is_jmp;
  x.fix_call = is_call;

  if (const ZydisDecodedOperand* mem = detail::rip_relative_operand(d)) {
    ZyanU64 target = 0;
    if (ZYAN_FAILED(ZydisCalcAbsoluteAddress(&d.insn, mem, insn.address, &target)) ||
        d.insn.raw.disp.size != 32) {
      return cannot(insn, "its rip-relative operand has no 32-bit displacement");
    }
    const uint8_t disp_at = d.insn.raw.disp.offset;
    if (fits_rel32(slot + insn.length, target)) {
      const auto disp = static_cast<uint32_t>(target - (slot + insn.length));
      std::memcpy(&x.code[disp_at], &disp, 4);
      PK_TRY(verify_memory_target(insn, x.code, slot, target, nullptr));
    } else {
      const uint32_t used = used_gprs(d);
      const Candidate* pick = nullptr;
      for (const Candidate& c : kScratch) {
        if (!(used & (1u << c.user_index))) {
          pick = &c;
          break;
        }
      }
      if (!pick) {
        return cannot(insn, "the slot is beyond ±2GB of " + hex(target) +
                                " and every scratch register is in use");
      }
      const uint8_t modrm_at = d.insn.raw.modrm.offset;
      // mod 00 rm 101 ([rip+disp32]) -> mod 10 rm rX ([rX+disp32]); same length.
      x.code[modrm_at] = static_cast<uint8_t>(0x80 | (x.code[modrm_at] & 0x38) | pick->hw);
      if (d.insn.attributes & ZYDIS_ATTRIB_HAS_REX) {
        x.code[d.insn.raw.rex.offset] &= static_cast<uint8_t>(~0x01);  // REX.B = 0
      } else if (d.insn.attributes & ZYDIS_ATTRIB_HAS_VEX) {
        if (d.insn.raw.vex.size == 3) x.code[d.insn.raw.vex.offset + 1] |= 0x20;  // ~B = 1
      } else if (d.insn.attributes & ZYDIS_ATTRIB_HAS_XOP) {
        x.code[d.insn.raw.xop.offset + 1] |= 0x20;  // ~B = 1
      }
      x.single_step = true;
      x.scratch_reg = pick->user_index;
      x.scratch_value = next;
      user_regs_struct regs{};
      reg_at(regs, pick->user_index) = next;
      PK_TRY(verify_memory_target(insn, x.code, slot, target, &regs));
    }
  }

  if (x.single_step) {
    x.fix_ip = !is_call && !is_jmp;
    return x;
  }
  append(x.code, jmp_to(slot + insn.length, next));
  return x;
}

}  // namespace probekit::x86
