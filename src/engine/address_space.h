// engine/address_space.h — one traced address space: its modules, its probe
// sites, its XOL areas.
//
// Sites are per address space, not per process: threads share one, a vfork
// child shares its parent's (same memory), a fork child gets a copy (its
// memory is a copy, int3 bytes and XOL areas included). The site table keeps
// the *original* byte of every int3 we wrote (the shadow), so every read the
// engine does of its own code (boundary checks, decoding) sees the program's
// bytes, never our patches.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/agent_abi.h"
#include "elf/elf_file.h"
#include "probekit/probekit.h"
#include "proc/maps.h"
#include "proc/memory.h"
#include "util/result.h"
#include "x86/x86.h"

namespace probekit::engine {

struct Module {
  std::string path;   // as in /proc/PID/maps
  std::string name;   // basename
  uint64_t bias = 0;  // load bias: runtime address = link-time address + bias
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t inode = 0;
  std::string dev;
  bool is_main = false;
  bool is_interp = false;
  uint64_t order = 0;  // discovery order (the dynamic loader is ordered last)
  std::shared_ptr<const elf::ElfFile> elf;  // null when the file cannot be read
};

// One patched address. Immutable once planned, except for the probe list
// and the armed flag: the XOL copy never changes, so every thread can run
// it at the same time without any per-hit write.
struct ProbeSite {
  uint64_t address = 0;
  uint8_t original_byte = 0;
  x86::Instruction insn;
  x86::Analysis analysis;
  x86::XolCode xol;
  uint64_t slot = 0;            // XOL copy address; 0 when emulated
  SiteInfo info;
  std::vector<ProbeId> probes;  // every probe placed here, enabled or not
  bool internal = false;        // the dynamic loader's r_brk breakpoint
  bool rearm_after_hands_off = false;  // taken out while the threads run untraced
  bool armed = false;           // int3 written
  bool gone = false;            // its module was unmapped: never write here again
  std::string jump_refused;     // why a counting probe here is not a jump probe (-v)
};

// A region of the target mapped by us (remote mmap, PROT_READ|PROT_EXEC),
// carved into fixed-size slots. Never unmapped while attached: a thread may
// be running a copy in it (detach unmaps it where none can be:
// engine/area_release.h).
struct XolArea {
  uint64_t start = 0;
  uint64_t size = 0;
  uint64_t used = 0;
};

class Agent;

// One jump-probed address (engine/jump_backend.h): `jmp rel32` over the
// first `length` bytes of whole instructions, to a trampoline that calls
// the agent and then runs the relocated instructions. Immutable once
// planned except for the probe list and the armed flag.
struct JumpSite {
  uint64_t address = 0;
  size_t length = 0;                   // bytes of displaced instructions (>= 5)
  std::array<uint8_t, 5> original{};   // what the jmp replaced
  std::array<uint8_t, 5> patch{};      // e9 + rel32, or eb + rel8 to the hop
  size_t patch_length = 5;             // bytes of `patch` written (2 with a hop)
  uint64_t hop = 0;                    // a jmp rel32 in the padding before the function (jump_backend.cpp)
  std::array<uint8_t, 5> hop_original{};
  std::array<uint8_t, 5> hop_patch{};
  uint64_t trampoline = 0;
  uint64_t copy = 0;                   // the relocated instructions, inside the trampoline
  std::vector<std::pair<uint64_t, uint64_t>> copy_of;  // displaced insn -> its copy
  std::shared_ptr<Agent> agent;        // whose site table holds its counter
  uint32_t agent_index = 0;
  bool records = false;                // PK_ACTION_RECORD: the trampoline calls the agent
  bool calls_agent = false;            // a return probe's entry or unwinder hook (JumpCall): joins no probe
  uint64_t exit_ret = 0;               // a return probe's exit site: the `ret` its probe runs at (the
                                       // window starts at `address`, before it; JumpBackend::plan_exit)
  uint32_t exit_index = UINT32_MAX;    // exit site: its agent site (agent_index too, unless an entry D
                                       // site shares the window: then agent_index is the entry's)
  ProbeId exit_probe = 0;              // exit site: the return probe's internal record among `probes`
  uint32_t then_return = UINT32_MAX;   // a jump return probe's entry: the return site (with records: a
                                       // record site whose trampoline then calls pk_agent_ret_entry)
  std::vector<pk_read> program;        // records: what the agent captures at a hit
  uint32_t regs_mask = 0;              // records: the registers they keep
  std::shared_ptr<const std::vector<uint8_t>> dcode;  // PK_ACTION_DPROG: the D clauses the agent runs
  std::vector<std::vector<Probe::GuardTerm>> guard;    // checked by its trampoline first (Probe::agent_guard)
  bool overrides = false;              // PK_ACTION_OVERRIDE (Probe::fail), or D code calling override():
                                       // its trampoline may return to the caller at once
  int64_t override_value = 0;
  uint32_t override_per_million = 0;
  SiteInfo info;
  std::string note;                    // for -v: what was displaced
  std::vector<ProbeId> probes;
  bool armed = false;
  bool gone = false;
};

// Every module an address space has had mapped, newest last
// (AddressSpace::refresh_modules appends each one it finds): symbolizes an
// address as the address space saw it when the address was recorded, also
// after the module was unmapped or the process exited or exec'd. The agent
// keeps D values as addresses (ufunc(), ustack() keys) that probekit
// symbolizes only when it prints them (Session::agent_symbolize).
class ModuleHistory {
public:
  void add(const std::vector<Module>& modules);
  // As AddressSpace::symbolize.
  std::string symbolize(uint64_t addr, bool qualify_module) const;

private:
  mutable std::mutex mutex_;  // read by the metrics server's printing too
  std::vector<Module> modules_;
};

struct ResolvedSite {
  uint64_t address = 0;
  SiteInfo info;
  uint64_t func_start = 0;  // 0 when no symbol covers the address
  uint64_t func_size = 0;
};

class AddressSpace {
public:
  static Result<std::shared_ptr<AddressSpace>> open(pid_t pid);
  // A fork child's copy: same sites and XOL areas, the child's memory.
  Result<std::shared_ptr<AddressSpace>> clone_for(pid_t child) const;

  pid_t pid() const { return pid_; }
  const proc::ProcessMemory& memory() const { return mem_; }

  // Re-reads /proc/PID/maps. Returns true when the set of modules changed.
  // Sites in modules that disappeared are marked gone.
  Result<bool> refresh_modules();
  const std::vector<Module>& modules() const { return modules_; }
  const Module* module_at(uint64_t addr) const;
  const Module* main_module() const;
  // The mappings read by the last refresh_modules().
  const std::vector<proc::MapEntry>& maps() const { return maps_; }
  const Module* interp_module() const;

  // Location -> absolute addresses with their SiteInfo. Errors: no_such_module,
  // no_such_symbol (with suggestions), not_instruction_boundary, usage.
  Result<std::vector<ResolvedSite>> resolve(const Location& where) const;
  std::string symbolize(uint64_t addr, bool qualify_module) const;
  // The modules this address space has had (shared: it outlives the space).
  const std::shared_ptr<ModuleHistory>& history() const { return history_; }
  Result<uint64_t> lookup_symbol(const std::string& name) const;
  // One entry per function address, named by elf::preferred_alias, with its
  // aliases and cold parts marked (FunctionInfo).
  Result<std::vector<FunctionInfo>> functions(const std::string& module) const;
  SiteInfo site_info(uint64_t addr) const;

  // Target memory as the program sees it: our int3 bytes replaced by the
  // original bytes.
  Status read_original(uint64_t addr, uint8_t* buf, size_t len) const;

  std::map<uint64_t, std::unique_ptr<ProbeSite>>& sites() { return sites_; }
  const std::map<uint64_t, std::unique_ptr<ProbeSite>>& sites() const { return sites_; }
  ProbeSite* site_at(uint64_t addr) {
    auto it = sites_.find(addr);
    return it == sites_.end() ? nullptr : it->second.get();
  }
  // The site whose XOL copy contains addr, or nullptr.
  ProbeSite* site_for_slot_address(uint64_t addr);
  bool in_xol(uint64_t addr) const;

  // A free slot within rel32 reach of near, or nullopt (the caller maps a
  // new area with the address map_area_hint() proposes).
  std::optional<uint64_t> take_slot(uint64_t near);
  // Candidate addresses (best first) for a new XOL area near a module.
  std::vector<uint64_t> area_candidates(uint64_t near, uint64_t size = kAreaSize) const;
  void add_area(uint64_t start, uint64_t size) { xol_.push_back({start, size, 0}); }
  void register_slot(uint64_t slot, ProbeSite* site) { slot_owner_[slot] = site; }
  // Replaces a site (one whose module went away and came back, or a live
  // one planned again, whose probes and armed int3 the new plan keeps): its
  // old slot is abandoned, never reused (a thread might still be in it).
  void replace_site(std::unique_ptr<ProbeSite> site);

  // Jump probes: their sites, and the agent that serves new ones (null until
  // the first jump probe; a fork child starts without one, as areas mapped
  // later in the parent are not in the child).
  std::map<uint64_t, std::unique_ptr<JumpSite>>& jump_sites() { return jump_sites_; }
  const std::map<uint64_t, std::unique_ptr<JumpSite>>& jump_sites() const { return jump_sites_; }
  // The jump site whose patched bytes contain addr, or nullptr.
  JumpSite* jump_site_covering(uint64_t addr);
  std::shared_ptr<Agent> agent;
  // A fork child's: the agent of the parent at the fork, whose areas (and
  // SIGTRAP action) the child inherited; detach takes them out of it too.
  std::shared_ptr<Agent> inherited;

  // The XOL areas (detach unmaps them where no thread can be inside one,
  // then forgets them).
  const std::vector<XolArea>& xol_areas() const { return xol_; }
  void forget_xol_areas() { xol_.clear(); }

  // Probe::semaphore words, by runtime address: the probes placed here that
  // want the word raised, and how much this session has added to it
  // (SessionImpl::sync_semaphores makes the second follow the first).
  struct SemaphoreUse {
    std::set<ProbeId> users;
    uint16_t applied = 0;
  };
  std::map<uint64_t, SemaphoreUse> semaphores;
  // From the last refresh_modules(): [addr, addr+len) lies in one mapping
  // that is writable / that exists at all.
  bool writable(uint64_t addr, size_t len) const;
  bool mapped(uint64_t addr) const;

  // The pending rule: a probe whose resolution failed only because its
  // module (or, with no module named, its symbol) is not mapped yet waits
  // for the loader when `pending_ok` (re-arming), when it allows pending,
  // or while a launched image has not reached main.
  bool can_wait_for(const Error& resolution, const Probe& probe, bool pending_ok) const;

  // Dynamic loader bookkeeping.
  uint64_t syscall_insn = 0;
  uint64_t return_trampoline = 0;  // return probes' int3 in an XOL slot (engine/return_probes.h)
  uint64_t r_debug = 0;         // address of _r_debug, 0 if unknown
  bool startup_done = false;    // the initial libraries are loaded (before main)
  bool launched = false;        // we saw this image from its exec

  static constexpr uint64_t kSlotSize = 64;
  static constexpr uint64_t kAreaSize = 64 * 1024;

private:
  AddressSpace(pid_t pid, proc::ProcessMemory mem) : pid_(pid), mem_(std::move(mem)) {}
  std::vector<const Module*> modules_matching(const std::string& spec) const;
  Result<std::vector<ResolvedSite>> resolve_in(const Module& m, const Location& where) const;

  pid_t pid_;
  proc::ProcessMemory mem_;
  std::vector<Module> modules_;
  std::shared_ptr<ModuleHistory> history_ = std::make_shared<ModuleHistory>();
  std::vector<proc::MapEntry> maps_;
  uint64_t next_order_ = 0;
  std::map<uint64_t, std::unique_ptr<ProbeSite>> sites_;
  std::vector<XolArea> xol_;
  std::map<uint64_t, ProbeSite*> slot_owner_;
  std::map<uint64_t, std::unique_ptr<JumpSite>> jump_sites_;
};

// Shared, process-wide cache of parsed ELF files (by path and inode).
std::shared_ptr<const elf::ElfFile> load_elf(const std::string& path, uint64_t inode);
bool module_matches(const std::string& spec, const Module& m);

}  // namespace probekit::engine
