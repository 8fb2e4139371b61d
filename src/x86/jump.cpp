// x86/jump.cpp — eligibility and relocation for jump probes.
//
// The one idea, from the kernel's optprobes (arch/x86/kernel/kprobes/opt.c,
// can_optimize / copy_optimized_instructions): a 5-byte jmp replaces more
// than one instruction, so it is safe only where no thread can ever arrive
// in the middle of those bytes other than from the instruction before them.
// Threads already stopped there are the engine's business (it moves them
// into the copy); branches are ours: the whole function is decoded and any
// branch into the range, or any indirect jump that could be one, refuses.
#include <cstdio>

#include "x86/decoded.h"
#include "x86/x86.h"

namespace probekit::x86 {

namespace {

constexpr size_t kJmpLength = 5;

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

Error refuse(const std::string& why) { return Error(why, ErrorKind::cannot_relocate); }

bool is_branch(const ZydisDecodedInstruction& i) {
  switch (i.meta.category) {
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_RET:
      return true;
    default:
      return false;
  }
}

// Any relative branch among insns landing in (lo, hi) (and, when asked, any
// indirect jmp): the first one found.
Status check_branches_into(const std::vector<Instruction>& insns, uint64_t func_start, uint64_t lo, uint64_t hi,
                           bool refuse_indirect_jmp) {
  for (const Instruction& insn : insns) {
    const detail::Decoded& d = detail::decoded_of(insn);
    if (detail::relative_branch_operand(d)) {
      const uint64_t t = insn.target();
      if (t > lo && t < hi) {
        return refuse("'" + insn.text() + "' at +" + hex(insn.address - func_start) +
                      " jumps into the patched bytes");
      }
    } else if (refuse_indirect_jmp && d.insn.meta.category == ZYDIS_CATEGORY_UNCOND_BR) {
      return refuse("indirect '" + insn.text() + "' at +" + hex(insn.address - func_start) +
                    " (a jump table could land in the patched bytes)");
    }
  }
  return {};
}

}  // namespace

bool is_padding(std::span<const uint8_t> bytes, uint64_t start) {
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes[at] == 0xcc) {
      ++at;
      continue;
    }
    auto insn = decode(bytes.data() + at, bytes.size() - at, start + at);
    if (!insn || detail::decoded_of(*insn).insn.mnemonic != ZYDIS_MNEMONIC_NOP) return false;
    at += insn->length;
  }
  return true;
}

bool ends_without_falling_through(const CodeRange& function) {
  auto insns = decode_all(function.bytes, function.start);
  if (!insns || insns->empty()) return false;
  const ZydisDecodedInstruction& i = detail::decoded_of(insns->back()).insn;
  if (insns->back().address + insns->back().length != function.start + function.bytes.size()) return false;
  return i.meta.category == ZYDIS_CATEGORY_RET || i.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
         i.mnemonic == ZYDIS_MNEMONIC_UD2 || i.mnemonic == ZYDIS_MNEMONIC_HLT || i.mnemonic == ZYDIS_MNEMONIC_INT3;
}

Result<JumpPlan> plan_displaced(const CodeRange& function, uint64_t address, size_t min_length) {
  const uint64_t start = function.start;
  const uint64_t end = start + function.bytes.size();
  if (address < start || address >= end) return refuse("the address is outside the function");
  JumpPlan plan;
  plan.address = address;
  while (plan.length < min_length) {
    const uint64_t at_addr = address + plan.length;
    if (at_addr >= end) break;
    auto insn = decode(function.bytes.data() + (at_addr - start), end - at_addr, at_addr);
    if (!insn) return refuse("the function does not decode at +" + hex(at_addr - start));
    const ZydisDecodedInstruction& i = detail::decoded_of(*insn).insn;
    auto analysis = analyze(*insn);
    if (!analysis) return refuse(analysis.error().message());
    const std::string at = "'" + insn->text() + "' at +" + hex(insn->address - start);
    if (i.meta.category == ZYDIS_CATEGORY_CALL) return refuse(at + " is a call");
    if (i.meta.category == ZYDIS_CATEGORY_SYSCALL || i.meta.category == ZYDIS_CATEGORY_INTERRUPT ||
        i.meta.category == ZYDIS_CATEGORY_SYSTEM) {
      return refuse(at + " enters the kernel");
    }
    if (is_branch(i)) {
      const bool relative_or_ret = detail::relative_branch_operand(detail::decoded_of(*insn)) ||
                                   i.meta.category == ZYDIS_CATEGORY_RET;
      if (!relative_or_ret) return refuse(at + " is an indirect branch");
      if (plan.length + insn->length < min_length)
        return refuse(at + " leaves before the " + std::to_string(min_length) + " patched bytes end");
    }
    plan.length += insn->length;
    plan.displaced.push_back(std::move(*insn));
  }
  if (plan.length < min_length || address + plan.length > end) {
    return refuse("fewer than " + std::to_string(min_length) + " bytes of whole instructions to the end of the function");
  }
  return plan;
}

Result<JumpPlan> plan_jump(const CodeRange& function, uint64_t address, std::span<const CodeRange> others) {
  const uint64_t start = function.start;
  if (address != start) PK_TRY(check_boundary(function.bytes, start, address));
  auto insns = decode_all(function.bytes, start);
  if (!insns) return refuse("the function does not decode: " + insns.error().message());
  auto plan = plan_displaced(function, address);
  if (!plan) return plan;
  PK_TRY(check_branches_into(*insns, start, address, address + plan->length, true));
  for (const CodeRange& other : others) {
    auto theirs = decode_all(other.bytes, other.start);
    if (!theirs) return refuse("a part of the function does not decode: " + theirs.error().message());
    PK_TRY(check_branches_into(*theirs, start, address, address + plan->length, false));
  }
  return plan;
}

BranchScan scan_branches(std::span<const uint8_t> code, uint64_t start) {
  BranchScan out;
  size_t off = 0;
  detail::Decoded d;  // one, reused: a module is hundreds of thousands of instructions
  while (off < code.size()) {
    if (!detail::decode_insn_into(d, code.data() + off, code.size() - off)) {
      out.complete = false;
      break;
    }
    const uint64_t address = start + off;
    // A relative branch (jmp, jcc, call, loop, jrcxz) has its target as a
    // relative immediate: no operand decoding needed.
    const auto& imm = d.insn.raw.imm[0];
    if (imm.is_relative && imm.size) {
      out.relative.emplace_back(address + d.insn.length + static_cast<uint64_t>(imm.value.s), address);
    } else if (d.insn.meta.category == ZYDIS_CATEGORY_UNCOND_BR) {
      out.indirect_jmps.push_back(address);
    }
    off += d.insn.length;
  }
  return out;
}

Result<JumpPlan> plan_exit(const CodeRange& function, uint64_t ret_address, uint64_t from) {
  const uint64_t start = function.start;
  auto insns = decode_all(function.bytes, start);
  if (!insns) return refuse("the function does not decode: " + insns.error().message());
  size_t k = 0;
  while (k < insns->size() && (*insns)[k].address != ret_address) ++k;
  if (k == insns->size()) return refuse("no instruction starts at +" + hex(ret_address - start));
  if (detail::decoded_of((*insns)[k]).insn.meta.category != ZYDIS_CATEGORY_RET) {
    return refuse("'" + (*insns)[k].text() + "' at +" + hex(ret_address - start) + " is not a ret");
  }
  const uint64_t end = ret_address + (*insns)[k].length;
  size_t first = k;
  while (end - (*insns)[first].address < kJmpLength) {
    if (first == 0) {
      return refuse("the ret at +" + hex(ret_address - start) + " has fewer than " + std::to_string(kJmpLength) +
                    " bytes of instructions before it in the function");
    }
    --first;
  }
  if (from) {
    if (from > (*insns)[first].address) return refuse("internal: a window from after its shortest start");
    while (first > 0 && (*insns)[first].address > from) --first;
    if ((*insns)[first].address != from) return refuse("+" + hex(from - start) + " is not an instruction boundary");
  }
  const uint64_t s = (*insns)[first].address;
  auto plan = plan_displaced(function, s, end - s);
  if (!plan) {
    return refuse("the ret at +" + hex(ret_address - start) + ": " + plan.error().message());
  }
  if (plan->address + plan->length != end || plan->displaced.back().address != ret_address) {
    return refuse("internal: the ret at +" + hex(ret_address - start) + " does not end its window");
  }
  // The function's own branches (the engine checks the module's too).
  if (auto st = check_branches_into(*insns, start, s, end, true); !st) {
    return refuse("the ret at +" + hex(ret_address - start) + ": " + st.error().message());
  }
  return plan;
}

Result<RelocatedBlock> relocate_block(const JumpPlan& plan, uint64_t at, bool jump_back) {
  RelocatedBlock block;
  for (size_t k = 0; k < plan.displaced.size(); ++k) {
    const Instruction& insn = plan.displaced[k];
    const uint64_t here = at + block.code.size();
    auto x = relocate(insn, here);
    if (!x) return std::move(x).error();
    if (x->single_step) {
      return refuse("'" + insn.text() + "' cannot run out of line without a single-step");
    }
    block.copy_of.emplace_back(insn.address, here);
    const bool last = k + 1 == plan.displaced.size();
    const ZydisDecodedInstruction& i = detail::decoded_of(insn).insn;
    if (is_branch(i)) {
      // plan_jump allows a branch only last; relocate() wrote its whole
      // effect (taken target and fall-through to the original next).
      block.code.insert(block.code.end(), x->code.begin(), x->code.end());
      continue;
    }
    // A plain copy: relocate() appended a jump back to the original next
    // instruction; keep the instruction and let the next copy follow it.
    block.code.insert(block.code.end(), x->code.begin(), x->code.begin() + insn.length);
    if (last && jump_back) {
      const std::vector<uint8_t> back = jmp_to(at + block.code.size(), plan.address + plan.length);
      block.code.insert(block.code.end(), back.begin(), back.end());
    }
  }
  return block;
}

}  // namespace probekit::x86
