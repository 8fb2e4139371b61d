// x86/decoded.h — internal to pk_x86: what an Instruction keeps of Zydis.
//
// The public header keeps Zydis out; the .cpp files of this folder share the
// decoded form and a few helpers over it through this header.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>

#include "x86/x86.h"

namespace probekit::x86::detail {

struct Decoded {
  ZydisDecodedInstruction insn{};
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT]{};
};

// Decodes one instruction into d, without an Instruction (no allocation:
// for scans over whole modules); false when the bytes do not decode.
bool decode_into(Decoded& d, const uint8_t* code, size_t len);
// The same without operands (about half the cost): d.insn only.
bool decode_insn_into(Decoded& d, const uint8_t* code, size_t len);

// The decoded form of insn; asserts that insn came from decode().
const Decoded& decoded_of(const Instruction& insn);

// The index of the first visible operand of the given type, or -1.
int find_operand(const Decoded& d, ZydisOperandType type);
// The rip-relative memory operand, or nullptr.
const ZydisDecodedOperand* rip_relative_operand(const Decoded& d);
// The relative-immediate operand of a branch, or nullptr.
const ZydisDecodedOperand* relative_branch_operand(const Decoded& d);

// Index into user_regs_struct (see x86::reg) of a 64-bit GPR or any of its
// sub-registers (eax, ax, al, ah -> rax); -1 for anything else.
int user_reg_index(ZydisRegister reg);

}  // namespace probekit::x86::detail
