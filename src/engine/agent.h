// engine/agent.h — the in-process agent of one traced address space.
//
// The one idea: probekit injects its agent without the target's help and
// without libc (mechanism.md §8(d)). Every step is a system call run in a
// stopped thread of the target (proc::remote_syscall through an existing
// `syscall` instruction): memfd_create, then probekit opens the same file
// through /proc/PID/fd, sizes it and fills it, the target maps it
// (MAP_SHARED) and closes its descriptor. Each area is thus one file mapped
// twice: r-x (code) or rw- (data) in the target, rw- in probekit, so
// probekit writes trampolines and reads counters with plain loads and
// stores, no ptrace call per access.
//
//   * the data area: pk_control + the site table (agent/agent_abi.h);
//   * with records, the rings (the thread table and a ring per thread)
//     and a private identity page holding the process's pid;
//   * code areas: the agent image (its PT_LOAD segments, R_X86_64_RELATIVE
//     relocations applied for the address the target chose) and
//     trampolines, one area per ±2 GB neighbourhood of probed code, since
//     a jump probe reaches its trampoline with a rel32.
//
// Areas stay mapped in the target while probekit is attached, and after
// it is gone unless it detached normally: a thread may be inside a
// trampoline at any moment. A normal detach unmaps them where no thread can
// still be inside one (engine/area_release.h). A fork child shares every
// area (MAP_SHARED), so its hits land in the same counters.
#pragma once

#include <atomic>
#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "agent/agent_abi.h"
#include "proc/ptrace.h"
#include "util/fd.h"
#include "util/result.h"

namespace probekit::engine {

class AddressSpace;

// Where remote system calls run: a thread of the target stopped by us, the
// `syscall` instruction to run, and scratch memory of the target (below the
// thread's red zone) for the memfd name.
//
// Once the agent's orphan guard is in place (Agent::guard_remote), calls
// run at the agent's gadget instead (`syscall; int3`, agent.c) and the
// thread's registers are kept in its control block meanwhile: if probekit
// dies in the middle, the thread traps at the gadget with nobody to serve
// it, and the agent's SIGTRAP handler puts its registers back.
struct RemoteThread {
  pid_t tid = 0;
  uint64_t syscall_insn = 0;
  std::vector<int>* held = nullptr;  // signals taken off the thread meanwhile
  uint64_t gadget = 0;               // pk_agent_syscall, or 0: syscall_insn
  pk_control* keep = nullptr;        // probekit's view of the agent's control block
};

// One system call in remote's thread (proc::remote_syscall), through the
// agent's gadget when there is one.
Result<int64_t> remote_call(const RemoteThread& remote, const proc::SyscallArgs& call);

// One memfd mapped in the target and in probekit.
struct SharedArea {
  Fd fd;
  uint8_t* local = nullptr;  // probekit's rw mapping
  uint64_t remote = 0;       // the target's mapping
  size_t size = 0;
  size_t used = 0;
  SharedArea() = default;
  SharedArea(const SharedArea&) = delete;
  SharedArea& operator=(const SharedArea&) = delete;
  ~SharedArea();
};

class Agent {
public:
  // Maps the data area and the agent image into the target (near `near`,
  // so the first trampolines share the image's area).
  static Result<std::shared_ptr<Agent>> inject(AddressSpace& as, const RemoteThread& remote,
                                               uint64_t near);
  // as's agent, injected near `near` when it has none yet; remote's
  // system calls then go through its gadget (guard_remote).
  static Status ensure(AddressSpace& as, RemoteThread& remote, uint64_t near);

  uint64_t data_remote() const { return data_->remote; }
  uint64_t code_remote() const { return code_.front()->remote; }

  // A new entry of the site table; its address in the target. A record
  // site (PK_ACTION_RECORD) names its capture program (add_program()).
  Result<uint32_t> add_site(uint64_t address, uint32_t action, uint32_t program = 0);
  uint64_t site_remote(uint32_t index) const;
  uint64_t hits(uint32_t index) const;
  // Record sites: hits whose record was lost (a full ring, no thread slot)
  // and hits nested in another hit of the same thread (no record).
  uint64_t dropped(uint32_t index) const;
  uint64_t nested(uint32_t index) const;
  uint64_t site_address(uint32_t index) const;

  // ---- Records (agent/agent_abi.h) ----
  // Maps the rings (a third memfd: the thread table and one ring per
  // thread) and the process's identity page (private: a fork child's copy
  // is its own), once, before the first record site.
  Status enable_records(AddressSpace& as, const RemoteThread& remote);
  bool records_enabled() const { return rings_ != nullptr; }
  // A capture program copied into the data area; its offset for add_site().
  Result<uint32_t> add_program(const std::vector<pk_read>& reads, uint32_t regs_mask);
  // ---- D clauses in the agent (agent/dvm.h) ----
  // Maps the D state (a fourth memfd: one part of part_bytes per thread
  // slot) and copies the aggregation table (pk_dagg[] as bytes) into the
  // data area, once, after enable_records(). The area is shared with the
  // session (dstate()), which reads it after this agent is gone.
  // global_words: words shared by the process's threads after the parts,
  // handed to init_globals before the state is published to the agent.
  Status enable_dstate(AddressSpace& as, const RemoteThread& remote, const std::vector<uint8_t>& daggs,
                       uint32_t self_words, uint32_t part_bytes, uint32_t global_words,
                       const std::function<void(uint64_t*)>& init_globals, uint64_t tsc_base, uint64_t ns_base,
                       uint64_t tsc_mult, uint32_t tsc_shift);
  const std::shared_ptr<SharedArea>& dstate() const { return dstate_; }
  // The global words in probekit's mapping (null without D state or globals).
  uint64_t* dglobals() const { return dglobals_; }
  // A site's D code copied into the data area (a pk_dprog); its offset for add_site().
  Result<uint32_t> add_dprog(const std::vector<uint8_t>& code);
  // Native D code (engine/dvm_native.h): whether compile_native() compiles
  // (LaunchOptions::agent_native), and the program at `program` (an
  // add_dprog() offset, not yet any site's) compiled into a code area, the
  // agent then calling it instead of the interpreter. Returns what runs,
  // for -v: "native code", or "bytecode (WHY)"; an area that cannot be
  // mapped is an error.
  void set_native(bool on) { native_ = on; }
  Result<std::string> compile_native(AddressSpace& as, const RemoteThread& remote, uint32_t program);
  // D's exit(): no D clause runs here any more (pk_control.dexited, which
  // PK_OP_EXIT sets in the agent and dprog_hit and run_dprog check).
  void stop_clauses() { std::atomic_ref<uint32_t>(control()->dexited).store(1, std::memory_order_relaxed); }
  // What compile_native() said of a site's program ("" before it ran).
  std::string dprog_form_of_site(uint32_t index) const;
  // Runs a site's D code in the tracer, for a hit that stopped the thread
  // (a probe that could not be a jump site): the same interpreter on the
  // same state. Returns the clauses abandoned; `out` gets the output
  // items the clauses wrote (agent_abi.h PK_ITEM_DOUT) and `items` their
  // number.
  uint32_t run_dprog(uint32_t program, const user_regs_struct& regs, pid_t pid, pid_t tid,
                     const std::string& comm, uint64_t tsc, int cpu, int64_t ret_offset = 0,
                     std::vector<uint8_t>* out = nullptr, uint32_t* items = nullptr,
                     std::optional<int64_t>* override_value = nullptr);  // set when override() ran
  // pk_agent_hit, for record trampolines.
  uint64_t hit_entry() const { return hit_entry_; }
  // ---- Return probes at jump speed (agent_abi.h pk_shadow_area) ----
  // Maps the shadow stacks (a private anonymous mapping: a fork child
  // gets its parent's copy) and writes the return trampoline, once.
  // Records must be enabled first.
  Status enable_returns(AddressSpace& as, const RemoteThread& remote);
  uint64_t shadow_remote() const { return shadow_; }
  uint64_t return_trampoline() const { return ret_trampoline_; }
  // The agent's entry points for the jump sites of return probes: the entry
  // (hijack), and the unwinder's and the catch's hooks.
  uint64_t ret_entry() const { return image_base_ + ret_entry_offset_; }
  // pk_agent_hit_ret: an entry probe's site that is also a return probe's
  // entry (its clauses and the push in one call; no override there).
  uint64_t hit_ret() const { return image_base_ + hit_ret_offset_; }
  uint64_t ret_unwind() const { return image_base_ + ret_unwind_offset_; }
  uint64_t ret_catch() const { return image_base_ + ret_catch_offset_; }
  // Marks a record or D site as a return site (its hits' rip is the real
  // return address; a D site's PK_DVAR_RETOFF is ret_offset).
  void mark_return_site(uint32_t index, int64_t ret_offset = 0);
  // A D site at a function's exit (a return probe's exit site, jump mode):
  // its PK_DVAR_RETOFF, D's arg0 there. Not a return site: the hit is at
  // the `ret` itself, rip the `ret`, as at a trap ret site.
  void set_ret_offset(uint32_t index, int64_t ret_offset);
  // A PK_ACTION_OVERRIDE site's value and rate (Probe::fail).
  void mark_override_site(uint32_t index, int64_t value, uint32_t per_million);
  // Where a process's pid is kept (its identity page): a followed fork
  // child gets its own pid written there before it runs.
  uint64_t identity_remote() const { return identity_; }
  // Where glibc keeps each thread's struct rseq (its __rseq_offset), once
  // libc is mapped: the agent then reads the CPU from rseq's cpu_id.
  void learn_rseq(const AddressSpace& as);
  // Where glibc keeps a thread's tid from its fs base: records then tell
  // threads (and fork children) apart without probekit (agent.c).
  void set_tid_offset(uint64_t offset);
  // A new thread (clone event, not yet running): a slot left by an exited
  // thread with the same fs base (glibc reuses stacks) is handed to it, so
  // that its records carry its own tid.
  void thread_started(pid_t pid, pid_t tid, uint64_t fs_base, const std::string& comm);
  // The records written so far, oldest first across threads (by TSC),
  // then consumed. A record points into the ring until drain returns.
  // Unless `all` (the last drain: the threads are stopped or gone), a
  // record younger than one still being written stays for the next drain,
  // so that no drain delivers a record before an older one.
  size_t drain(const std::function<void(const pk_record&)>& each, bool all = false);
  // Records lost, by CPU (nonzero entries only).
  std::vector<std::pair<int, uint64_t>> cpu_drops() const;
  // Hits of the site already credited to probes (the session's ledger, kept
  // here so that a fork child's copy of a site shares it with the parent's).
  uint64_t& credited(uint32_t index) { return credited_[index]; }

  // The orphan guard's patch table (agent/agent_abi.h pk_patch): call
  // arming() before writing a patch and disarmed() after taking it out, so
  // that the agent can undo exactly what is in place if probekit dies.
  // `last`: restored after every other patch (a hop: agent.c restore_all).
  void arming(uint64_t address, const uint8_t* original, uint32_t length, uint64_t resume, bool last = false);
  void disarmed(uint64_t address);
  // At detach: the program's SIGTRAP action back (unless it installed one
  // of its own meanwhile) and the death pipe closed in the target.
  Status retire(const RemoteThread& remote);
  bool guarding() const { return guard_installed_; }
  // Remote system calls in this address space through the agent's gadget,
  // once the guard that recovers them is in place.
  void guard_remote(RemoteThread& remote) const;
  // Closes probekit's end of the death pipe without retiring the guard:
  // the agent restores every patch itself, as when probekit dies.
  void let_go() { death_writer_.reset(); }
  // The SIGTRAP handler installed in the process `remote` runs in (a fork
  // child inherited its parent's), and, where it is ours (sigtrap_entry()),
  // the action we replaced put back (its handler: replaced_sigtrap()).
  // The agent's data area must be mapped there.
  Result<uint64_t> sigtrap_handler(const RemoteThread& remote);
  Status give_back_sigtrap(const RemoteThread& remote);
  uint64_t sigtrap_entry() const { return sigtrap_entry_; }
  uint64_t replaced_sigtrap() const { return control()->previous.handler; }

  // The target's ranges of every area (data first), and the mark that they
  // are unmapped there: no more code space is handed out afterwards.
  std::vector<std::pair<uint64_t, size_t>> areas() const;
  // The anonymous private pages it mapped (the identity page).
  std::vector<std::pair<uint64_t, size_t>> private_areas() const;
  void mark_unmapped() { unmapped_ = true; }
  bool unmapped() const { return unmapped_; }

  // n bytes of executable code space within rel32 reach of near (a new
  // area is mapped when none reaches): the target's address and probekit's
  // writable view of the same bytes.
  struct CodeSpace {
    uint64_t remote = 0;
    uint8_t* local = nullptr;
  };
  Result<CodeSpace> code_near(AddressSpace& as, const RemoteThread& remote, uint64_t near, size_t n);

  static constexpr size_t kCodeAreaSize = 1 << 20;
  static constexpr uint32_t kMaxSites = 1 << 16;
  static constexpr uint32_t kMaxPatches = 1 << 17;
  static constexpr uint32_t kThreads = 256;         // ring slots (a power of two)
  static constexpr uint32_t kRingSize = 1 << 20;  // bytes per thread (a power of two)
  static constexpr size_t kProgramSpace = 256 << 10;

private:
  Agent() = default;
  pk_site_rt* site(uint32_t index) const;
  pk_control* control() const { return reinterpret_cast<pk_control*>(data_->local); }
  Status install_guard(AddressSpace& as, const RemoteThread& remote);
  uint64_t data_remote_of(const void* local) const {
    return data_->remote + (static_cast<const uint8_t*>(local) - data_->local);
  }

  std::unique_ptr<SharedArea> data_;
  bool native_ = true;
  std::map<uint32_t, std::string> dprog_forms_;  // by program offset
  // Native code by bytecode: a probe's sites share their code (0: bytecode).
  std::map<std::vector<uint8_t>, std::pair<uint64_t, std::string>> native_of_;
  uint64_t dvm_helpers_[8] = {};                 // AgentImage::dvm_helper_offsets, in the target
  std::unique_ptr<SharedArea> rings_;
  std::shared_ptr<SharedArea> dstate_;
  uint64_t* dglobals_ = nullptr;  // in dstate_, after the thread parts
  uint64_t identity_ = 0;
  uint64_t hit_entry_ = 0;
  uint64_t image_base_ = 0;
  uint64_t shadow_ptr_offset_ = 0, ret_entry_offset_ = 0, ret_exit_offset_ = 0;
  uint64_t ret_unwind_offset_ = 0, ret_catch_offset_ = 0, hit_ret_offset_ = 0;
  uint64_t shadow_ = 0;           // pk_shadow_area in the target (private)
  size_t shadow_size_ = 0;
  uint64_t ret_trampoline_ = 0;
  size_t programs_used_ = 0;
  size_t rseq_modules_seen_ = 0;
  uint64_t rseq_offset_at_ = 0, rseq_size_at_ = 0;  // ld.so's __rseq_offset and __rseq_size
  bool rseq_given_up_ = false;                      // TLS set up, rseq not registered
  std::vector<std::unique_ptr<SharedArea>> code_;
  uint32_t nsites_ = 0;
  std::vector<uint64_t> credited_;
  // Records drained, by site: a record site's hits are its records plus
  // the hits that wrote none (pk_site_rt.hits), counted here so that the
  // agent never shares a written cache line with probekit.
  std::vector<uint64_t> delivered_;
  std::map<uint64_t, uint32_t> patch_index_;  // address -> pk_patch entry
  uint64_t sigtrap_entry_ = 0;
  uint64_t syscall_gadget_ = 0;  // pk_agent_syscall in the target
  Fd death_writer_;  // probekit's end of the death pipe (agent.c)
  bool guard_installed_ = false;
  bool unmapped_ = false;
};

// The agent image's facts, checked without a target (tests): its PT_LOAD
// span, its relocations (only R_X86_64_RELATIVE is accepted) and the
// offsets of its entry points.
struct AgentImage {
  std::vector<uint8_t> bytes;  // the loaded image at base 0 (relocations not applied)
  std::vector<uint64_t> relative_relocs;  // offsets of R_X86_64_RELATIVE slots
  std::vector<int64_t> relative_addends;
  uint64_t sigtrap_offset = 0;   // pk_agent_sigtrap
  uint64_t restorer_offset = 0;  // pk_agent_restorer
  uint64_t syscall_offset = 0;   // pk_agent_syscall
  uint64_t data_ptr_offset = 0;  // pk_agent_data
  uint64_t hit_offset = 0;       // pk_agent_hit
  // Return probes at jump speed (agent.c pk_agent_ret_*).
  uint64_t shadow_ptr_offset = 0;  // pk_agent_shadow
  uint64_t ret_entry_offset = 0;
  uint64_t ret_exit_offset = 0;
  uint64_t ret_unwind_offset = 0;
  uint64_t ret_catch_offset = 0;
  uint64_t hit_ret_offset = 0;  // pk_agent_hit_ret
  // Native D code's helpers (agent.c pk_agent_dvm_*, engine/dvm_native.h):
  // thread, part, timestamp, cpu, aggregate, interpret, string; 0 where missing.
  uint64_t dvm_helper_offsets[8] = {};
};
Result<AgentImage> load_agent_image();

}  // namespace probekit::engine
