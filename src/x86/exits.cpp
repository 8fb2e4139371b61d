// x86/exits.cpp — the instructions through which a function leaves.
//
// Return probes in the DTrace pid-provider style put a probe on every exit
// instead of rewriting the return address on the stack: nothing on the stack
// changes, so longjmp, exceptions and stack walkers are unaffected. An exit
// is a ret, or a direct jump out of the function's bytes (a tail call: the
// callee's ret returns to our caller). A jump into another part of the same
// function (gcc's FUNC.cold, placed in .text.unlikely) is not an exit; the
// caller says which addresses are its own through is_own_part. Indirect jumps
// are reported apart: a jump table stays inside, a tail call through a
// pointer leaves, and only the caller can decide (or probe both ways).
#include "x86/x86.h"

#include "x86/decoded.h"

namespace probekit::x86 {

Result<std::vector<ExitSite>> find_exits(std::span<const uint8_t> bytes, uint64_t start,
                                         const std::function<bool(uint64_t)>& is_own_part) {
  auto insns = decode_all(bytes, start);
  if (!insns) return std::move(insns).error();
  const uint64_t end = start + bytes.size();
  std::vector<ExitSite> exits;
  for (const Instruction& insn : *insns) {
    const ZydisDecodedInstruction& i = detail::decoded_of(insn).insn;
    if (i.mnemonic == ZYDIS_MNEMONIC_RET) {
      exits.push_back({insn.address, ExitSite::Kind::ret, 0});
      continue;
    }
    const bool jump = i.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
                      i.meta.category == ZYDIS_CATEGORY_COND_BR;
    if (!jump) continue;
    if (detail::relative_branch_operand(detail::decoded_of(insn))) {
      const uint64_t target = insn.target();
      const bool inside = target >= start && target < end;
      if (!inside && !(is_own_part && is_own_part(target))) {
        exits.push_back({insn.address, ExitSite::Kind::tail_call, target});
      }
    } else if (i.meta.category == ZYDIS_CATEGORY_UNCOND_BR &&
               i.meta.branch_type != ZYDIS_BRANCH_TYPE_FAR) {
      exits.push_back({insn.address, ExitSite::Kind::indirect_jmp, 0});
    }
  }
  return exits;
}

}  // namespace probekit::x86
