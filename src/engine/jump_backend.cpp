#include "engine/jump_backend.h"

#include <asmjit/x86.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <mutex>
#include <cstring>

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

// The function's other parts (gcc's FUNC.cold), whose jumps back into the
// body count as branches into the patched bytes.
std::vector<std::pair<uint64_t, uint64_t>> cold_parts(const AddressSpace& as, const ResolvedSite& r) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  const Module* m = as.module_at(r.func_start);
  if (!m || !m->elf || r.info.raw_symbol.empty()) return out;
  const std::string cold = r.info.raw_symbol + ".cold";
  for (const auto& s : m->elf->symbols()) {
    if (s.kind == elf::SymbolKind::function && s.size && starts_with(s.name, cold)) {
      out.emplace_back(s.value + m->bias, s.size);
    }
  }
  return out;
}

// Every relative branch of a module's functions, by target (link-time
// addresses, so one scan serves every process mapping the same file).
// Decoded once per file from the process's memory (original bytes).
struct ModuleBranches {
  std::vector<std::pair<uint64_t, uint64_t>> by_target;  // sorted (target, source)
};

const ModuleBranches& module_branches(const AddressSpace& as, const Module& m) {
  static std::mutex mu;
  static std::map<const elf::ElfFile*, std::shared_ptr<ModuleBranches>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[m.elf.get()];
  if (slot) return *slot;
  slot = std::make_shared<ModuleBranches>();
  std::vector<uint8_t> bytes;
  for (const auto& s : m.elf->symbols()) {
    if (s.kind != elf::SymbolKind::function || !s.size || s.size > (64u << 20)) continue;
    bytes.resize(s.size);
    if (!as.read_original(s.value + m.bias, bytes.data(), bytes.size())) continue;
    for (auto [target, source] : x86::relative_branches(bytes, s.value)) slot->by_target.emplace_back(target, source);
  }
  std::sort(slot->by_target.begin(), slot->by_target.end());
  slot->by_target.erase(std::unique(slot->by_target.begin(), slot->by_target.end()), slot->by_target.end());
  return *slot;
}

}  // namespace

Result<std::unique_ptr<JumpSite>> JumpBackend::plan(AddressSpace& as, const ResolvedSite& r,
                                                    const RemoteThread& remote) {
  if (!r.func_start || !r.func_size) {
    return Error("no sized function symbol covers the address", ErrorKind::cannot_relocate);
  }
  std::vector<uint8_t> func(r.func_size);
  PK_TRY(as.read_original(r.func_start, func.data(), func.size()));
  std::vector<std::vector<uint8_t>> cold_bytes;
  std::vector<x86::CodeRange> others;
  for (const auto& [start, size] : cold_parts(as, r)) {
    cold_bytes.emplace_back(size);
    if (!as.read_original(start, cold_bytes.back().data(), size)) return Error("cannot read " + hex(start));
    others.push_back({cold_bytes.back(), start});
  }
  auto jp = x86::plan_jump({func, r.func_start}, r.address, others);
  if (!jp) return jp.error();
  // Branches from anywhere in the module, not only the function itself.
  if (const Module* m = as.module_at(r.address); m && m->elf) {
    const auto& all = module_branches(as, *m).by_target;
    const uint64_t lo = r.address - m->bias, hi = lo + jp->length;
    auto it = std::upper_bound(all.begin(), all.end(), std::pair<uint64_t, uint64_t>{lo, UINT64_MAX});
    if (it != all.end() && it->first < hi) {
      return Error("a branch at " + as.symbolize(it->second + m->bias, false) + " jumps into the patched bytes",
                   ErrorKind::cannot_relocate);
    }
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
  auto index = as.agent->add_site(r.address, PK_ACTION_COUNT);
  if (!index) return index.error();
  site->agent_index = *index;

  auto head = assemble_count(as.agent->site_remote(*index) + offsetof(pk_site_rt, hits));
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
