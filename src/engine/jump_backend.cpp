#include "engine/jump_backend.h"

#include <asmjit/x86.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <cstring>

#include "engine/record_context.h"
#include "util/strings.h"

namespace probekit::engine {

namespace {

// The trampoline up to the displaced instructions (see the header): a
// counted hit. The flags are kept with lahf/seto and sahf (DynamoRIO's
// idiom) instead of pushfq/popfq, whose popfq costs more than the count.
Result<std::vector<uint8_t>> assemble_count(uint64_t counter) {
  namespace ax = asmjit::x86;
  asmjit::CodeHolder code;
  code.init(asmjit::Environment(asmjit::Arch::kX64));
  ax::Assembler a(&code);
  a.lea(ax::rsp, ax::ptr(ax::rsp, -128));  // the red zone
  a.push(ax::rax);
  a.push(ax::rcx);
  a.seto(ax::al);
  a.lahf();
  a.mov(ax::rcx, asmjit::imm(counter));
  a.lock().add(ax::qword_ptr(ax::rcx), 1);
  a.add(ax::al, 0x7f);  // OF back: 1 + 0x7f overflows, 0 + 0x7f does not
  a.sahf();             // SF ZF AF PF CF back
  a.pop(ax::rcx);
  a.pop(ax::rax);
  a.lea(ax::rsp, ax::ptr(ax::rsp, 128));
  if (code.flatten() != asmjit::kErrorOk) return Error("assembling a trampoline failed", ErrorKind::internal);
  const asmjit::CodeBuffer& buf = code.textSection()->buffer();
  return std::vector<uint8_t>(buf.data(), buf.data() + buf.size());
}

// The record trampoline's head (see the header).
// At a function's entry the flags are dead (the ABI keeps none across a
// call or a tail jump, and DF is 0): they are still pushed, for the
// record's eflags, but not restored, which saves popfq, the costliest
// instruction of the trampoline.
// With a guard (Probe::agent_guard, only at a function's entry, where the
// flags and r11 are dead): compares first, and a hit no clause's terms all
// hold for jumps straight to the displaced instructions.
// With `overrides` (an entry site whose pk_agent_hit may override the
// return: PK_ACTION_OVERRIDE, D's override()): a nonzero pk_agent_hit
// skips `then` (the call is not made, so no return probe is hijacked for
// it, as a trap override's body never reaches its ret sites), restores the
// registers (rax now the value) and returns to the caller: [rsp] is the
// return address at an entry, as the kernel's override sets ip to it.
//
// A return probe's push (`returns`: the site's own call is
// pk_agent_ret_entry, or `then` is) is also given the trampoline's return
// point `rp` (rdx, the third argument), and its nonzero result (ZF kept
// from a `test` across the pops and lea: the flags are dead here) has the
// trampoline call the function instead of jumping into it:
//   jz copy; lea rsp,[rsp+8]; call copy
//   rp: jmp [rip+lit]; lit: dq <the return trampoline>
//   copy: <displaced instructions, relocated>; jmp back
// The call pops the real return address the agent kept and pushes rp in
// its place, so the function's stack is exactly what its caller made
// (arguments on the stack included) and its `ret` lands on rp, predicted
// by the CPU's return stack; the return trampoline leaves by `ret` to the
// real address, predicted too (see Agent::enable_returns). A joined site
// (`then` a push, no override) makes one call instead of two:
// pk_agent_hit_ret(frame, site, then's return site, rp).
Result<std::vector<uint8_t>> assemble_record(uint64_t site, uint64_t hit, bool entry, const JumpCall* then = nullptr,
                                             const std::vector<std::vector<Probe::GuardTerm>>& guard = {},
                                             bool overrides = false, bool returns = false,
                                             uint64_t return_trampoline = 0) {
  namespace ax = asmjit::x86;
  asmjit::CodeHolder code;
  code.init(asmjit::Environment(asmjit::Arch::kX64));
  ax::Assembler a(&code);
  asmjit::Label skip = a.newLabel(), run = a.newLabel(), leave = a.newLabel(), rp = a.newLabel();
  if (overrides && !entry) return Error("an override needs a function's entry", ErrorKind::cannot_relocate);
  const bool pushes = returns || (then && then->returns);
  if (pushes && (!entry || !return_trampoline)) {
    return Error("internal: a return probe's push needs a function's entry and the return trampoline",
                 ErrorKind::internal);
  }
  // One call for the site's clauses and the push (pk_agent_hit_ret).
  const bool joined = then && then->returns && !overrides && !returns;
  const bool guarded = entry && !guard.empty();
  if (guarded) {
    using Cond = Probe::GuardTerm::Cond;
    for (const auto& clause : guard) {
      asmjit::Label next = a.newLabel();
      for (const auto& t : clause) {
        ax::Gp r;
        switch (t.reg) {
          case 14: r = ax::rdi; break;
          case 13: r = ax::rsi; break;
          case 12: r = ax::rdx; break;
          case 11: r = ax::rcx; break;
          case 9: r = ax::r8; break;
          case 8: r = ax::r9; break;
          default: return Error("internal: a guard on a register that is not an argument", ErrorKind::internal);
        }
        const bool fits = t.imm >= INT32_MIN && t.imm <= INT32_MAX;
        if (t.size == 4) {
          a.cmp(r.r32(), asmjit::imm(static_cast<int32_t>(t.imm)));
        } else if (fits) {
          a.cmp(r, asmjit::imm(t.imm));
        } else {
          a.mov(ax::r11, asmjit::imm(t.imm));
          a.cmp(r, ax::r11);
        }
        switch (t.cond) {  // the term fails: the next clause
          case Cond::eq: a.jne(next); break;
          case Cond::ne: a.je(next); break;
          case Cond::lt: a.jge(next); break;
          case Cond::le: a.jg(next); break;
          case Cond::gt: a.jle(next); break;
          case Cond::ge: a.jl(next); break;
          case Cond::ult: a.jae(next); break;
          case Cond::ule: a.ja(next); break;
          case Cond::ugt: a.jbe(next); break;
          case Cond::uge: a.jb(next); break;
        }
      }
      a.jmp(run);
      a.bind(next);
    }
    a.jmp(skip);
    a.bind(run);
  }
  static const ax::Gp kSaved[] = {ax::rdi, ax::rsi, ax::rdx, ax::rcx, ax::rax, ax::r8,  ax::r9, ax::r10,
                                  ax::r11, ax::rbx, ax::rbp, ax::r12, ax::r13, ax::r14, ax::r15};
  a.lea(ax::rsp, ax::ptr(ax::rsp, -128));
  a.pushfq();
  for (const auto& r : kSaved) a.push(r);
  // DF is clear at a function's entry and at its ret (the ABI: "on function
  // entry and return"), so only a site inside a function needs the cld.
  if (!entry) a.cld();
  a.mov(ax::rdi, ax::rsp);
  a.mov(ax::rsi, asmjit::imm(site));
  if (returns) a.lea(ax::rdx, ax::ptr(rp));
  if (joined) {
    a.mov(ax::rdx, asmjit::imm(then->argument));
    a.lea(ax::rcx, ax::ptr(rp));
  }
  a.mov(ax::rbx, ax::rsp);
  a.and_(ax::rsp, -16);
  a.mov(ax::rax, asmjit::imm(joined ? then->joined : hit));
  a.call(ax::rax);
  if (overrides) {
    a.test(ax::rax, ax::rax);
    a.jnz(leave);
  }
  if (then && !joined) {  // a second function on the same frame (rbx is callee-saved)
    a.mov(ax::rdi, ax::rbx);
    a.mov(ax::rsi, asmjit::imm(then->argument));
    if (then->returns) a.lea(ax::rdx, ax::ptr(rp));
    a.mov(ax::rax, asmjit::imm(then->function));
    a.call(ax::rax);
  }
  if (pushes) a.test(ax::rax, ax::rax);  // nonzero: call the function
  a.mov(ax::rsp, ax::rbx);
  for (size_t i = std::size(kSaved); i-- > 0;) a.pop(kSaved[i]);
  if (entry) {
    a.lea(ax::rsp, ax::ptr(ax::rsp, 8 + 128));
  } else {
    a.popfq();
    a.lea(ax::rsp, ax::ptr(ax::rsp, 128));
  }
  if (pushes) {
    asmjit::Label lit = a.newLabel();
    a.jz(skip);
    a.lea(ax::rsp, ax::ptr(ax::rsp, 8));
    a.call(skip);
    a.bind(rp);
    a.jmp(ax::ptr(lit));
    a.bind(lit);
    a.embedUInt64(return_trampoline);
  }
  if (overrides) {
    asmjit::Label go = a.newLabel();
    if (!pushes) a.jmp(go);
    a.bind(leave);  // the function returns at once: `ret` to the caller
    a.mov(ax::rsp, ax::rbx);
    for (size_t i = std::size(kSaved); i-- > 0;) a.pop(kSaved[i]);
    a.lea(ax::rsp, ax::ptr(ax::rsp, 8 + 128));
    a.ret();
    a.bind(go);
  }
  a.bind(skip);
  if (code.flatten() != asmjit::kErrorOk) return Error("assembling a trampoline failed", ErrorKind::internal);
  const asmjit::CodeBuffer& buf = code.textSection()->buffer();
  return std::vector<uint8_t>(buf.data(), buf.data() + buf.size());
}

// Every branch of a module's functions (its FUNC.cold parts included),
// in link-time addresses so that one scan serves every process mapping the
// same file; decoded once per file from the process's memory (original
// bytes). A jump probe must not replace bytes that any of them can reach
// other than through the first one.
struct ModuleBranches {
  std::vector<std::pair<uint64_t, uint64_t>> by_target;  // sorted (target, source) of relative branches
  std::vector<uint64_t> indirect_jmps;                   // sorted
  std::vector<uint64_t> undecodable;                     // sorted starts of functions that did not decode
  std::vector<std::pair<uint64_t, uint64_t>> functions;  // sorted [start, end) of sized function symbols
};

const ModuleBranches& module_branches(const AddressSpace& as, const Module& m) {
  static std::mutex mu;
  static std::map<const elf::ElfFile*, std::shared_ptr<ModuleBranches>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[m.elf.get()];
  if (slot) return *slot;
  slot = std::make_shared<ModuleBranches>();
  std::vector<uint8_t> bytes;
  std::set<std::pair<uint64_t, uint64_t>> scanned;  // aliases share their code
  for (const auto& s : m.elf->symbols()) {
    if (s.kind != elf::SymbolKind::function || !s.size || s.size > (64u << 20)) continue;
    if (!scanned.insert({s.value, s.size}).second) continue;
    slot->functions.emplace_back(s.value, s.value + s.size);
    bytes.resize(s.size);
    if (!as.read_original(s.value + m.bias, bytes.data(), bytes.size())) continue;
    x86::BranchScan scan = x86::scan_branches(bytes, s.value);
    slot->by_target.insert(slot->by_target.end(), scan.relative.begin(), scan.relative.end());
    slot->indirect_jmps.insert(slot->indirect_jmps.end(), scan.indirect_jmps.begin(), scan.indirect_jmps.end());
    if (!scan.complete) slot->undecodable.push_back(s.value);
  }
  for (auto* v : {&slot->indirect_jmps, &slot->undecodable}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  std::sort(slot->functions.begin(), slot->functions.end());
  std::sort(slot->by_target.begin(), slot->by_target.end());
  slot->by_target.erase(std::unique(slot->by_target.begin(), slot->by_target.end()), slot->by_target.end());
  return *slot;
}

bool any_in(const std::vector<uint64_t>& sorted, uint64_t lo, uint64_t hi) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), lo);
  return it != sorted.end() && *it < hi;
}

// The function a site is in, as plan() and plan_exit() check it: its
// original bytes and its module's branches, refused when it has no sized
// symbol or module or does not decode (`what`: "address", "exit").
struct FunctionCode {
  const Module* m = nullptr;
  std::vector<uint8_t> bytes;
  const ModuleBranches* branches = nullptr;
  uint64_t lo = 0, hi = 0;  // link-time [start, end)

  Status read(const AddressSpace& as, const ResolvedSite& r, const char* what) {
    if (!r.func_start || !r.func_size) {
      return Error(std::string("no sized function symbol covers the ") + what, ErrorKind::cannot_relocate);
    }
    m = as.module_at(r.address);
    if (!m || !m->elf) return Error(std::string("no module covers the ") + what, ErrorKind::cannot_relocate);
    bytes.resize(r.func_size);
    PK_TRY(as.read_original(r.func_start, bytes.data(), bytes.size()));
    branches = &module_branches(as, *m);
    lo = r.func_start - m->bias;
    hi = lo + r.func_size;
    if (any_in(branches->undecodable, lo, hi)) return Error("the function does not decode", ErrorKind::cannot_relocate);
    return {};
  }

  // A branch of the module into [address, address + length) other than to
  // its first byte: its source, symbolized; empty when none.
  std::string branch_into(const AddressSpace& as, uint64_t address, uint64_t length) const {
    const uint64_t from = address - m->bias, to = from + length;
    auto it = std::upper_bound(branches->by_target.begin(), branches->by_target.end(),
                               std::pair<uint64_t, uint64_t>{from, UINT64_MAX});
    if (it == branches->by_target.end() || it->first >= to) return {};
    return as.symbolize(it->second + m->bias, false);
  }
};

}  // namespace

Result<std::vector<pk_read>> JumpBackend::program_of(const Probe::Capture& capture) {
  std::vector<pk_read> out;
  for (const auto& c : capture.reads) {
    pk_read r{};
    if (c.reg < -1 || c.reg >= static_cast<int>(sizeof(user_regs_struct) / 8)) {
      return Error("a capture names register word " + std::to_string(c.reg), ErrorKind::usage);
    }
    if (c.derefs.size() > PK_MAX_DEREFS) {
      return Error("more than " + std::to_string(PK_MAX_DEREFS) + " dereferences", ErrorKind::cannot_relocate);
    }
    if (!c.string && (c.size == 0 || c.size > 8)) {
      return Error("a capture reads " + std::to_string(c.size) + " bytes (1 to 8)", ErrorKind::usage);
    }
    r.reg = c.reg;
    r.immediate = c.immediate;
    r.string = c.string ? 1 : 0;
    r.size = c.string ? 8 : c.size;
    r.nderefs = static_cast<uint8_t>(c.derefs.size());
    for (size_t i = 0; i < c.derefs.size(); ++i) r.derefs[i] = c.derefs[i];
    out.push_back(r);
  }
  return out;
}

uint32_t JumpBackend::regs_mask_of(const Probe::Capture& capture) {
  uint32_t mask = 0;
  for (int i = 0; i < PK_RECORD_REGS; ++i) {
    if (capture.registers & (1u << RecordHitContext::kRecordWord[i])) mask |= 1u << i;
  }
  return mask;
}

// A hop for a function at runtime `addr`: 5 bytes of alignment padding
// within a jmp rel8 of addr + 2 that nothing executes: no function symbol
// covers them, no branch targets the gap they are in, the gap is NOPs and
// int3s only, and the function before it never falls through into it
// (glibc's __memcpy_chk_* falls through its padding into __memcpy_*). The
// hop is at the gap's start; 0 when there is none.
uint64_t find_hop(const AddressSpace& as, const Module& m, uint64_t addr) {
  const ModuleBranches& b = module_branches(as, m);
  const uint64_t at = addr - m.bias;
  const uint64_t reach_lo = at + 2 - 128, reach_hi = at + 2 + 127 - 5;  // hop start range (link-time)
  auto it = std::lower_bound(b.functions.begin(), b.functions.end(), std::pair<uint64_t, uint64_t>{reach_lo - 4096, 0});
  uint64_t best = 0;
  uint64_t prev_start = 0, prev_end = 0;
  for (; it != b.functions.end() && it->first <= reach_hi + 5; ++it) {
    const uint64_t gap_lo = prev_end, gap_hi = it->first;
    if (prev_end && gap_hi >= gap_lo + 5 && gap_lo >= reach_lo && gap_lo <= reach_hi) {
      const uint64_t hop = gap_lo + m.bias;
      bool taken = false;  // another site's hop
      for (auto j = as.jump_sites().lower_bound(hop > 256 ? hop - 256 : 0);
           j != as.jump_sites().end() && j->first < hop + 256; ++j) {
        taken = taken || (j->second->hop && !j->second->gone && j->second->hop + 5 > hop && j->second->hop < hop + 5);
      }
      auto t = std::lower_bound(b.by_target.begin(), b.by_target.end(), std::pair<uint64_t, uint64_t>{gap_lo, 0});
      const bool targeted = t != b.by_target.end() && t->first < gap_hi;
      std::vector<uint8_t> gap(gap_hi - gap_lo), prev(prev_end - prev_start);
      if (!taken && !targeted && gap.size() <= 4096 && prev.size() <= (1u << 20) &&
          as.read_original(gap_lo + m.bias, gap.data(), gap.size()) && x86::is_padding(gap, gap_lo + m.bias) &&
          as.read_original(prev_start + m.bias, prev.data(), prev.size()) &&
          x86::ends_without_falling_through({prev, prev_start + m.bias})) {
        const auto dist = [&](uint64_t h) { return h > addr ? h - addr : addr - h; };
        if (!best || dist(hop) < dist(best)) best = hop;
      }
    }
    if (it->second > prev_end) {
      prev_end = it->second;
      prev_start = it->first;
    }
  }
  return best;
}

Result<std::unique_ptr<JumpSite>> JumpBackend::plan(AddressSpace& as, const ResolvedSite& r,
                                                    const RemoteThread& given, const std::vector<pk_read>* program,
                                                    uint32_t regs_mask, const JumpCall* call, const JumpCall* then,
                                                    const std::shared_ptr<const std::vector<uint8_t>>& dcode,
                                                    const std::vector<std::vector<Probe::GuardTerm>>& guard,
                                                    const JumpOverride* override_return, bool dcode_overrides) {
  if (override_return && !program) return Error("internal: an override site without records", ErrorKind::internal);
  // Branches: from anywhere in the module, not only the function itself.
  FunctionCode fc;
  PK_TRY(fc.read(as, r, "address"));
  const Module* m = fc.m;
  const std::vector<uint8_t>& func = fc.bytes;
  if (r.address != r.func_start) PK_TRY(x86::check_boundary(func, r.func_start, r.address));
  const std::vector<uint64_t>& indirect = fc.branches->indirect_jmps;
  if (any_in(indirect, fc.lo, fc.hi)) {
    auto at = *std::lower_bound(indirect.begin(), indirect.end(), fc.lo);
    return Error("indirect jmp at +" + hex(at - fc.lo) + " (a jump table could land in the patched bytes)",
                 ErrorKind::cannot_relocate);
  }
  // The displaced instructions, and no branch into them but to the first.
  auto displaced = [&](size_t min_length) -> Result<x86::JumpPlan> {
    auto jp = x86::plan_displaced({func, r.func_start}, r.address, min_length);
    if (!jp) return jp.error();
    if (auto from = fc.branch_into(as, r.address, jp->length); !from.empty())
      return Error("a branch at " + from + " jumps into the patched bytes", ErrorKind::cannot_relocate);
    return jp;
  };
  auto jp = displaced(5);
  uint64_t hop = 0;  // where the 5-byte jmp goes when the site itself gets a 2-byte one
  if (!jp && r.address == r.func_start) {
    // The hop (as Windows' hot-patching does): a jmp rel8 over the first
    // instruction(s) to a jmp rel32 in alignment padding nearby, which
    // nothing else executes (find_hop). Fewer bytes are displaced: a neighbour's branch to +3 (glibc's
    // __mempcpy_* enters __memcpy_*+3) or a function of 2 to 4 bytes is fine.
    auto short_jp = displaced(2);
    const uint64_t pad = short_jp ? find_hop(as, *m, r.address) : 0;
    if (pad) {
      jp = std::move(short_jp);
      hop = pad;
    }
  }
  if (!jp) return jp.error();
  for (uint64_t a = r.address; a < r.address + jp->length; ++a) {
    if (as.site_at(a) && !as.site_at(a)->gone) {
      return Error("a breakpoint at " + hex(a) + " is inside the patched bytes", ErrorKind::cannot_relocate);
    }
  }
  if (as.jump_site_covering(r.address + jp->length - 1) || as.jump_site_covering(r.address)) {
    return Error("another jump probe overlaps the patched bytes", ErrorKind::cannot_relocate);
  }

  RemoteThread remote = given;
  PK_TRY(Agent::ensure(as, remote, r.address));
  auto site = std::make_unique<JumpSite>();
  site->address = r.address;
  site->length = jp->length;
  site->info = r.info;
  site->agent = as.agent;
  uint32_t prog = 0;
  if (program) {
    PK_TRY(as.agent->enable_records(as, remote));
    auto p = as.agent->add_program(*program, regs_mask);
    if (!p) return p.error();
    prog = *p;
    site->records = true;
    site->program = *program;
    site->regs_mask = regs_mask;
  }
  if (dcode) {  // D clauses (agent/dvm.h): the session mapped the D state already
    if (!as.agent->dstate()) return Error("internal: agent code without the D state", ErrorKind::internal);
    auto p = as.agent->add_dprog(*dcode);
    if (!p) return p.error();
    prog = *p;
    if (auto form = as.agent->compile_native(as, remote, prog); !form) return form.error();
    site->dcode = dcode;
    site->guard = guard;
  }
  bool entry = r.address == r.func_start;
  if (r.address == r.func_start + 4) {
    static constexpr uint8_t kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    entry = std::equal(func.begin(), func.begin() + 4, kEndbr64);
  }
  if ((override_return || (dcode && dcode_overrides)) && !entry)
    return Error("an override needs a function's entry", ErrorKind::cannot_relocate);
  site->overrides = dcode && dcode_overrides;
  auto index = as.agent->add_site(r.address,
                                  dcode                ? PK_ACTION_DPROG
                                  : override_return    ? PK_ACTION_OVERRIDE
                                  : program            ? PK_ACTION_RECORD
                                                       : PK_ACTION_COUNT,
                                  prog);
  if (!index) return index.error();
  site->agent_index = *index;
  if (override_return) {
    as.agent->mark_override_site(*index, override_return->value, override_return->per_million);
    site->overrides = true;
    site->override_value = override_return->value;
    site->override_per_million = override_return->per_million;
  }

  const uint64_t ret_tramp = as.agent->return_trampoline();
  auto head = call              ? assemble_record(call->argument, call->function, entry, then, {}, false, call->returns,
                                                  ret_tramp)
              : program || dcode ? assemble_record(as.agent->site_remote(*index), as.agent->hit_entry(), entry, then,
                                                   dcode ? guard : std::vector<std::vector<Probe::GuardTerm>>{},
                                                   site->overrides, false, ret_tramp)
                      : assemble_count(as.agent->site_remote(*index) + offsetof(pk_site_rt, hits));
  if (!head) return head.error();
  constexpr size_t kMaxBlock = 5 * 15 + 64;
  auto space = as.agent->code_near(as, remote, r.address, head->size() + kMaxBlock);
  if (!space) return space.error();
  auto block = x86::relocate_block(*jp, space->remote + head->size());
  if (!block) return block.error();
  if (block->code.size() > kMaxBlock) return Error("relocated block too large", ErrorKind::internal);
  std::memcpy(space->local, head->data(), head->size());
  std::memcpy(space->local + head->size(), block->code.data(), block->code.size());

  site->trampoline = space->remote;
  site->copy = space->remote + head->size();
  site->copy_of = std::move(block->copy_of);
  PK_TRY(as.read_original(r.address, site->original.data(), site->original.size()));
  if (hop) {
    // jmp rel8 to the hop, then the hop's jmp rel32 to the trampoline.
    site->patch_length = 2;
    site->patch[0] = 0xeb;
    site->patch[1] = static_cast<uint8_t>(static_cast<int8_t>(static_cast<int64_t>(hop) - static_cast<int64_t>(r.address + 2)));
    site->hop = hop;
    PK_TRY(as.read_original(hop, site->hop_original.data(), site->hop_original.size()));
    const std::vector<uint8_t> jmp = x86::jmp_rel32(hop, site->trampoline);
    std::copy(jmp.begin(), jmp.end(), site->hop_patch.begin());
  } else {
    const std::vector<uint8_t> jmp = x86::jmp_rel32(r.address, site->trampoline);
    std::copy(jmp.begin(), jmp.end(), site->patch.begin());
  }
  for (const auto& insn : jp->displaced) site->note += (site->note.empty() ? "" : "; ") + insn.text();
  if (hop) site->note = "via a hop at " + as.symbolize(hop, false) + ": " + site->note;
  return site;
}

Result<std::unique_ptr<JumpSite>> JumpBackend::plan_exit(AddressSpace& as, const ResolvedSite& r,
                                                         const RemoteThread& given,
                                                         const std::shared_ptr<const std::vector<uint8_t>>& dcode,
                                                         int64_t ret_offset, const JumpSite* entry,
                                                         uint32_t exit_index) {
  if (!dcode) return Error("internal: an exit site without D code", ErrorKind::internal);
  FunctionCode fc;
  PK_TRY(fc.read(as, r, "exit"));
  const std::vector<uint8_t>& func = fc.bytes;
  auto jp = x86::plan_exit({func, r.func_start}, r.address);
  if (!jp) return jp.error();
  const std::string where = "the ret at +" + hex(r.address - r.func_start);
  // An entry D site in the bytes the exit needs: one window from the
  // entry's first byte to the ret serves both.
  if (entry && !(entry->address < jp->address + jp->length && jp->address < entry->address + entry->length))
    entry = nullptr;
  if (entry) {
    if (entry->address > jp->address || entry->address < r.func_start) {
      return Error(where + ": the entry's jump probe covers other bytes", ErrorKind::cannot_relocate);
    }
    jp = x86::plan_exit({func, r.func_start}, r.address, entry->address);
    if (!jp) return jp.error();
  }
  // No branch of the module into the window but to its first byte.
  if (auto from = fc.branch_into(as, jp->address, jp->length); !from.empty())
    return Error(where + ": a branch at " + from + " jumps into the bytes before it", ErrorKind::cannot_relocate);
  for (uint64_t a = jp->address; a < jp->address + jp->length; ++a) {
    if (as.site_at(a) && !as.site_at(a)->gone) {
      return Error(where + ": a breakpoint at " + hex(a) + " is inside the patched bytes", ErrorKind::cannot_relocate);
    }
  }
  if (entry) {
    if (entry->address != jp->address || entry->length > jp->length || !entry->dcode || entry->hop ||
        entry->calls_agent || entry->then_return != UINT32_MAX || entry->exit_ret) {
      return Error(where + ": the jump probe at the entry cannot share its window (not D code alone, or a hop)", ErrorKind::cannot_relocate);
    }
  } else if (as.jump_site_covering(jp->address + jp->length - 1) || as.jump_site_covering(jp->address)) {
    return Error(where + ": another jump probe overlaps the patched bytes", ErrorKind::cannot_relocate);
  }
  // The window's instructions but the ret: copied first, then the probe.
  x86::JumpPlan before = *jp;
  const x86::Instruction ret = before.displaced.back();
  before.displaced.pop_back();
  before.length -= ret.length;

  RemoteThread remote = given;
  PK_TRY(Agent::ensure(as, remote, r.address));
  if (!as.agent->dstate()) return Error("internal: agent code without the D state", ErrorKind::internal);
  Result<uint32_t> index = exit_index;
  if (exit_index == UINT32_MAX) {
    auto prog = as.agent->add_dprog(*dcode);
    if (!prog) return prog.error();
    if (auto form = as.agent->compile_native(as, remote, *prog); !form) return form.error();
    index = as.agent->add_site(r.address, PK_ACTION_DPROG, *prog);
    if (!index) return index.error();
    as.agent->set_ret_offset(*index, ret_offset);
  }
  auto head = assemble_record(as.agent->site_remote(*index), as.agent->hit_entry(), true);
  if (!head) return head.error();
  // The entry's head first (its guard's rejection and its clauses both go
  // on to the copies; an override returns from the head itself).
  std::vector<uint8_t> entry_head;
  if (entry) {
    auto eh = assemble_record(as.agent->site_remote(entry->agent_index), as.agent->hit_entry(), true, nullptr,
                              entry->guard, entry->overrides);
    if (!eh) return eh.error();
    entry_head = std::move(*eh);
  }
  constexpr size_t kMaxBlock = 5 * 15;
  auto space = as.agent->code_near(as, remote, r.address, entry_head.size() + kMaxBlock + head->size() + 15);
  if (!space) return space.error();
  auto block = x86::relocate_block(before, space->remote + entry_head.size(), false);
  if (!block) return block.error();
  if (block->code.size() > kMaxBlock) return Error("relocated block too large", ErrorKind::internal);
  const uint64_t copy_at = space->remote + entry_head.size();
  const uint64_t probe_at = copy_at + block->code.size();
  std::vector<uint8_t> code = std::move(entry_head);
  code.insert(code.end(), block->code.begin(), block->code.end());
  code.insert(code.end(), head->begin(), head->end());
  code.insert(code.end(), ret.bytes.begin(), ret.bytes.begin() + ret.length);  // ret / ret imm16: no rip use
  std::memcpy(space->local, code.data(), code.size());

  auto site = std::make_unique<JumpSite>();
  site->address = jp->address;
  site->length = jp->length;
  site->exit_ret = r.address;
  site->exit_index = *index;
  site->info = entry ? entry->info : r.info;
  site->agent = as.agent;
  site->agent_index = entry ? entry->agent_index : *index;
  site->dcode = entry ? entry->dcode : dcode;
  if (entry) {
    site->guard = entry->guard;
    site->overrides = entry->overrides;
    site->probes = entry->probes;
  }
  site->trampoline = space->remote;
  site->copy = copy_at;  // where the orphan guard resumes a thread at the window's first byte
  site->copy_of = std::move(block->copy_of);
  site->copy_of.emplace_back(r.address, probe_at);  // a thread stopped at the ret: the probe, then the ret
  PK_TRY(as.read_original(jp->address, site->original.data(), site->original.size()));
  const std::vector<uint8_t> jmp = x86::jmp_rel32(jp->address, site->trampoline);
  std::copy(jmp.begin(), jmp.end(), site->patch.begin());
  for (const auto& insn : jp->displaced) site->note += (site->note.empty() ? "" : "; ") + insn.text();
  if (entry) site->note += "; one jmp with the return's clauses at its ret";
  return site;
}

Status JumpBackend::arm(AddressSpace& as, JumpSite& site) {
  if (site.armed || site.gone) return {};
  if (site.hop) {  // the hop first: nothing reaches it until the jmp rel8 is in
    if (as.agent) as.agent->arming(site.hop, site.hop_original.data(), 5, site.trampoline, true);
    PK_TRY(as.memory().write(site.hop, site.hop_patch.data(), site.hop_patch.size()));
  }
  if (as.agent) as.agent->arming(site.address, site.original.data(), site.patch_length, site.copy);
  PK_TRY(as.memory().write(site.address, site.patch.data(), site.patch_length));
  site.armed = true;
  return {};
}

Status JumpBackend::disarm(AddressSpace& as, JumpSite& site) {
  if (!site.armed || site.gone) {
    site.armed = false;
    return {};
  }
  PK_TRY(as.memory().write(site.address, site.original.data(), site.patch_length));
  site.armed = false;
  if (as.agent) as.agent->disarmed(site.address);
  if (site.hop) {  // a thread that took the jmp rel8 just before is past the hop (it was stopped)
    PK_TRY(as.memory().write(site.hop, site.hop_original.data(), site.hop_original.size()));
    if (as.agent) as.agent->disarmed(site.hop);
  }
  return {};
}

uint64_t JumpBackend::moved_rip(const JumpSite& site, uint64_t rip) {
  if (rip <= site.address || rip >= site.address + site.length) return rip;
  for (const auto& [orig, copy] : site.copy_of) {
    if (orig == rip) return copy;
  }
  return rip;  // not an instruction boundary: no thread can be there
}

}  // namespace probekit::engine
