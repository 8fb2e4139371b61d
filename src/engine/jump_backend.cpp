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
Result<std::vector<uint8_t>> assemble_record(uint64_t site, uint64_t hit, bool entry, const JumpCall* then = nullptr) {
  namespace ax = asmjit::x86;
  asmjit::CodeHolder code;
  code.init(asmjit::Environment(asmjit::Arch::kX64));
  ax::Assembler a(&code);
  static const ax::Gp kSaved[] = {ax::rdi, ax::rsi, ax::rdx, ax::rcx, ax::rax, ax::r8,  ax::r9, ax::r10,
                                  ax::r11, ax::rbx, ax::rbp, ax::r12, ax::r13, ax::r14, ax::r15};
  a.lea(ax::rsp, ax::ptr(ax::rsp, -128));
  a.pushfq();
  for (const auto& r : kSaved) a.push(r);
  a.cld();
  a.mov(ax::rdi, ax::rsp);
  a.mov(ax::rsi, asmjit::imm(site));
  a.mov(ax::rbx, ax::rsp);
  a.and_(ax::rsp, -16);
  a.mov(ax::rax, asmjit::imm(hit));
  a.call(ax::rax);
  if (then) {  // a second function on the same frame (rbx is callee-saved)
    a.mov(ax::rdi, ax::rbx);
    a.mov(ax::rsi, asmjit::imm(then->argument));
    a.mov(ax::rax, asmjit::imm(then->function));
    a.call(ax::rax);
  }
  a.mov(ax::rsp, ax::rbx);
  for (size_t i = std::size(kSaved); i-- > 0;) a.pop(kSaved[i]);
  if (entry) {
    a.lea(ax::rsp, ax::ptr(ax::rsp, 8 + 128));
  } else {
    a.popfq();
    a.lea(ax::rsp, ax::ptr(ax::rsp, 128));
  }
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
  std::sort(slot->by_target.begin(), slot->by_target.end());
  slot->by_target.erase(std::unique(slot->by_target.begin(), slot->by_target.end()), slot->by_target.end());
  return *slot;
}

bool any_in(const std::vector<uint64_t>& sorted, uint64_t lo, uint64_t hi) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), lo);
  return it != sorted.end() && *it < hi;
}

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

Result<std::unique_ptr<JumpSite>> JumpBackend::plan(AddressSpace& as, const ResolvedSite& r,
                                                    const RemoteThread& remote, const std::vector<pk_read>* program,
                                                    uint32_t regs_mask, const JumpCall* call, const JumpCall* then) {
  if (!r.func_start || !r.func_size) {
    return Error("no sized function symbol covers the address", ErrorKind::cannot_relocate);
  }
  const Module* m = as.module_at(r.address);
  if (!m || !m->elf) return Error("no module covers the address", ErrorKind::cannot_relocate);
  std::vector<uint8_t> func(r.func_size);
  PK_TRY(as.read_original(r.func_start, func.data(), func.size()));
  if (r.address != r.func_start) PK_TRY(x86::check_boundary(func, r.func_start, r.address));
  auto jp = x86::plan_displaced({func, r.func_start}, r.address);
  if (!jp) return jp.error();
  // Branches: from anywhere in the module, not only the function itself.
  const ModuleBranches& branches = module_branches(as, *m);
  const uint64_t lo = r.address - m->bias, hi = lo + jp->length;
  const uint64_t flo = r.func_start - m->bias, fhi = flo + r.func_size;
  if (any_in(branches.undecodable, flo, fhi)) {
    return Error("the function does not decode", ErrorKind::cannot_relocate);
  }
  if (any_in(branches.indirect_jmps, flo, fhi)) {
    auto at = *std::lower_bound(branches.indirect_jmps.begin(), branches.indirect_jmps.end(), flo);
    return Error("indirect jmp at +" + hex(at - flo) + " (a jump table could land in the patched bytes)",
                 ErrorKind::cannot_relocate);
  }
  auto it = std::upper_bound(branches.by_target.begin(), branches.by_target.end(),
                             std::pair<uint64_t, uint64_t>{lo, UINT64_MAX});
  if (it != branches.by_target.end() && it->first < hi) {
    return Error("a branch at " + as.symbolize(it->second + m->bias, false) + " jumps into the patched bytes",
                 ErrorKind::cannot_relocate);
  }
  for (uint64_t a = r.address; a < r.address + jp->length; ++a) {
    if (as.site_at(a) && !as.site_at(a)->gone) {
      return Error("a breakpoint at " + hex(a) + " is inside the patched bytes", ErrorKind::cannot_relocate);
    }
  }
  if (as.jump_site_covering(r.address + jp->length - 1) || as.jump_site_covering(r.address)) {
    return Error("another jump probe overlaps the patched bytes", ErrorKind::cannot_relocate);
  }

  if (!as.agent) {
    auto agent = Agent::inject(as, remote, r.address);
    if (!agent) return agent.error();
    as.agent = *agent;
  }
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
  auto index = as.agent->add_site(r.address, program ? PK_ACTION_RECORD : PK_ACTION_COUNT, prog);
  if (!index) return index.error();
  site->agent_index = *index;

  bool entry = r.address == r.func_start;
  if (r.address == r.func_start + 4) {
    static constexpr uint8_t kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    entry = std::equal(func.begin(), func.begin() + 4, kEndbr64);
  }
  auto head = call      ? assemble_record(call->argument, call->function, entry, then)
              : program ? assemble_record(as.agent->site_remote(*index), as.agent->hit_entry(), entry, then)
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
  const std::vector<uint8_t> jmp = x86::jmp_rel32(r.address, site->trampoline);
  std::copy(jmp.begin(), jmp.end(), site->patch.begin());
  for (const auto& insn : jp->displaced) site->note += (site->note.empty() ? "" : "; ") + insn.text();
  return site;
}

Status JumpBackend::arm(AddressSpace& as, JumpSite& site) {
  if (site.armed || site.gone) return {};
  if (as.agent) as.agent->arming(site.address, site.original.data(), site.original.size(), site.copy);
  PK_TRY(as.memory().write(site.address, site.patch.data(), site.patch.size()));
  site.armed = true;
  return {};
}

Status JumpBackend::disarm(AddressSpace& as, JumpSite& site) {
  if (!site.armed || site.gone) {
    site.armed = false;
    return {};
  }
  PK_TRY(as.memory().write(site.address, site.original.data(), site.original.size()));
  site.armed = false;
  if (as.agent) as.agent->disarmed(site.address);
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
