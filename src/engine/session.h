// engine/session.h — SessionImpl: the probekit::Session of the trap backend.
//
// Owns every traced thread and process (the launched or attached one and
// the fork/vfork children it follows), the probe table, and the one wait
// loop: waitpid(-1, __WALL) → classify → dispatch. Dispatch is the only
// place that decides what a stop means; the backend decides what a hit
// does; handlers run through HandlerRunner. "Holding the world" (detach,
// arming outside run()) is the same loop with resumes recorded instead of
// performed, so no stop is ever lost or handled twice.
#pragma once

#include <time.h>

#include <atomic>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include "engine/address_space.h"
#include "engine/jump_backend.h"
#include "engine/record_context.h"
#include "engine/return_probes.h"
#include "engine/sampler.h"
#include "engine/syscall_provider.h"
#include "engine/trap_backend.h"
#include "probekit/probekit.h"
#include "proc/ptrace.h"

namespace probekit::engine {

struct ProbeRecord {
  ProbeId id = 0;
  Probe probe;
  uint64_t hits = 0;
  uint64_t missed = 0;
  ProbeId owner = 0;  // internal record of return probe `owner` (ReturnProbes places it)
};

struct Process {
  pid_t pid = 0;
  std::shared_ptr<AddressSpace> as;
  bool followed = true;      // handlers run for it
  bool vfork_child = false;  // shares its parent's memory until exec/exit
  int ppid = -1;
};

class SessionImpl final : public Session, private HandlerRunner, private ThreadControl {
public:
  SessionImpl(LaunchOptions opts, bool naive);
  ~SessionImpl() override;

  Status start_launched(pid_t pid);
  Status start_attached(const std::vector<pid_t>& tids, pid_t pid);

  pid_t pid() const override { return pid_; }
  Result<ProbeId> add(Probe probe) override;
  Status enable(ProbeId id) override;
  Status disable(ProbeId id) override;
  Status remove(ProbeId id) override;
  ProbeStats stats(ProbeId id) const override;
  std::vector<std::string> describe(ProbeId id) const override;
  std::vector<Drops> dropped_records() const override;
  std::vector<std::string> detach_notes() const override { return detach_notes_; }
  Result<ProbeId> add_syscall_probe(SyscallProbe probe) override;
  uint64_t syscall_stop_count() const override { return syscalls_.stop_count(); }
  Result<ProbeId> add_sampler(double hz, PreHandler handler) override;
  Result<ProbeId> add_timer(double seconds, std::function<void()> callback) override;
  // Launch: the numbers of the seccomp filter the child installed.
  void set_syscall_filter(std::vector<int> nrs) { syscalls_.set_filter(std::move(nrs)); }
  Status load_libraries() override;
  std::vector<ModuleInfo> modules() const override;
  Result<std::vector<FunctionInfo>> functions(const std::string& module) const override;
  Result<uint64_t> lookup_symbol(const std::string& name) const override;
  Result<int> run(std::optional<double> seconds) override;
  int exit_signal() const override { return main_signal_; }
  void stop() override;
  Status detach() override;

private:
  friend class ReturnProbes;  // return probes place internal records and drive threads

  // HandlerRunner
  bool run_pre(Thread& t, ProbeSite& site, user_regs_struct& regs) override;
  void run_post(Thread& t, ProbeSite& site, user_regs_struct& regs) override;
  void run_fault(Thread& t, ProbeSite& site, user_regs_struct& regs, int signo) override;
  bool has_post(const ProbeSite& site) const override;
  void on_loader_event(Thread& t) override;
  bool handlers_enabled(const Thread& t) const override;
  // ThreadControl
  void resume(Thread& t, ResumeKind kind, int signo) override;

  void do_resume(Thread& t);
  Status pump(bool block);
  Status pump_polling();  // run()'s wait: poll kPollWindowNs, then block
  static constexpr uint64_t kPollWindowNs = 50'000;
  void dispatch(const proc::Stop& s);
  void on_sigtrap(Thread& t);
  void on_loader_syscall(Thread& t);
  void on_new_task(Thread& parent, proc::StopKind kind, pid_t child);
  void adopt(pid_t child);
  void on_exec(Thread& t, pid_t former);
  void on_exit(const proc::Stop& s);
  Status hold_world();
  void release_world();
  Status setup_address_space(Process& p);
  Result<Thread*> stopped_thread_in(const std::shared_ptr<AddressSpace>& as);
  Result<uint64_t> provide_slot(AddressSpace& as, uint64_t near);
  std::shared_ptr<AddressSpace> shared_as(const AddressSpace& as) const;
  Result<RemoteThread> remote_thread(const std::shared_ptr<AddressSpace>& as);
  // Jump probes (engine/jump_backend.h).
  bool wants_jump(const ProbeRecord& rec) const;
  bool all_stopped_in(const std::shared_ptr<AddressSpace>& as) const;
  Status stop_all_in(const std::shared_ptr<AddressSpace>& as);
  Status arm_jump(const std::shared_ptr<AddressSpace>& as, JumpSite& site);
  // A D entry probe at r over a return probe's exit site (in `slot`)
  // whose window starts there: one site running both (JumpBackend::
  // plan_exit with the entry); the exit site is out of the table, or back
  // in it (armed as it was) when this fails.
  Result<std::unique_ptr<JumpSite>> join_exit_site(const std::shared_ptr<AddressSpace>& as, const ResolvedSite& r,
                                                   const ProbeRecord& rec, std::unique_ptr<JumpSite>& slot);
  Status disarm_jump(const std::shared_ptr<AddressSpace>& as, JumpSite& site);
  void credit(JumpSite& site);
  void credit_all(AddressSpace& as);
  bool jump_site_enabled(const JumpSite& site) const;
  Status demote(const std::shared_ptr<AddressSpace>& as, uint64_t address);
  // Records (Probe::capture): every agent's rings drained, each record's
  // handlers run (record_context.h).
  // all: also records younger than one still being written (the threads
  // that could write them are stopped or gone).
  void drain_records(bool all = false);
  // Agent code (Probe::agent_code): the address space's agent with the D
  // state mapped (injected now if it has none).
  Status ensure_dstate(const std::shared_ptr<AddressSpace>& as, uint64_t near);
  // A probe's agent code run here, on t's address space's D state (a trap
  // site's hit; a return probe's return that is not a jump site's).
  // Returns the value the code's override() asked for (the caller applies it).
  std::optional<int64_t> run_agent_code(ProbeId id, const Probe& probe, Thread& t, const user_regs_struct& regs,
                                        const std::string& comm, int cpu, uint64_t timestamp_ns, int64_t ret_offset);
  Status set_agent_state(AgentState state) override;
  std::vector<const uint8_t*> agent_parts() const override;
  std::string agent_symbolize(const uint8_t* part, int pid, uint64_t addr) const override;
  std::vector<uint64_t*> agent_globals() const override;
  uint64_t agent_faults() const override;
  void stop_agent_clauses() override;
  void deliver(Agent& agent, const std::shared_ptr<AddressSpace>& owner, const pk_record& rec);
  const std::vector<std::shared_ptr<Agent>>& record_agents() const { return record_agents_; }
  // An agent whose rings are drained from now on; `records`: it has record
  // sites, so the run loop wakes to drain them.
  void add_record_agent(const std::shared_ptr<Agent>& agent, bool records);
  // Hands-off (inside run()): where every probe is a jump probe, the
  // threads are detached and the program runs without any ptrace stop;
  // run() takes them back (seize) before it returns.
  bool can_hand_off() const;
  Status hand_off();
  Status take_back();
  void wait_hands_off(uint64_t deadline);
  Status place(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as, bool pending_ok);
  void arm_pending(const std::shared_ptr<AddressSpace>& as);
  // Probe::semaphore: each word's count follows its users where the word is
  // mapped writable (refresh: re-read the maps first).
  Status sync_semaphores(AddressSpace& as, bool refresh);
  std::vector<std::shared_ptr<AddressSpace>> address_spaces() const;
  void clean_and_detach_child(pid_t child);
  Status detach_all();
  void release_areas(const std::shared_ptr<AddressSpace>& as);
  void release_child_areas(pid_t child, const std::shared_ptr<AddressSpace>& parent_as);
  // Providers (syscall_provider.h, sampler.h).
  void kick_running_threads();
  void service_ticks();
  void take_sample(Thread& t);
  void retune_wake_timer();
  Status drain();
  void kill_tree();

  LaunchOptions opts_;
  bool naive_ = false;
  TrapBackend trap_;
  JumpBackend jump_;
  pid_t pid_ = 0;
  std::unordered_map<pid_t, Thread> threads_;
  std::unordered_map<pid_t, Process> procs_;
  // Children announced by an event whose first stop has not come yet, and
  // first stops of children whose event has not come yet.
  std::map<pid_t, std::pair<pid_t, proc::StopKind>> expected_;  // child -> (parent tid, kind)
  std::set<pid_t> early_;
  std::map<ProbeId, ProbeRecord> probes_;
  ProbeId next_id_ = 1;
  bool holding_ = false;
  bool detached_ = false;
  std::vector<std::string> detach_notes_;  // detach_notes()
  bool main_exited_ = false;
  bool stop_at_startup_ = false;
  int main_status_ = -1;
  int main_signal_ = 0;
  Thread* current_ = nullptr;  // the thread whose hit is being handled
  std::atomic<bool> stop_requested_{false};
  std::atomic<pid_t> run_tid_{0};
  ReturnProbes returns_{*this};
  SyscallProvider syscalls_;
  Ticker ticker_;
  timer_t wake_timer_{};
  bool have_wake_timer_ = false;
  bool until_tree_exits_ = false;  // run() waits for every traced process (drain)
  bool drain_abandoned_ = false;
  bool records_ = false;           // some jump site writes records: drain them at every wake-up
  bool draining_ = false;          // inside drain_records (handlers run from it)
  bool hands_off_ = false;         // the threads are detached while run() waits (can_hand_off)
  int hands_off_pidfd_ = -1;
  bool hand_off_refused_ = false;  // tried once and could not: not again
  bool launched_ = false;          // our child: its status is ours to reap
  std::vector<std::shared_ptr<Agent>> record_agents_;  // every agent with records (also of processes gone)
  TscClock clock_;
  std::optional<AgentState> agent_state_;
  std::vector<std::shared_ptr<Agent>> dstate_agents_;       // every agent with D state (also of processes gone)
  // Whose modules an agent's D state addresses are symbolized by (agent_symbolize).
  struct DstateSpace {
    const SharedArea* area = nullptr;
    pid_t pid = 0;
    std::shared_ptr<ModuleHistory> history;
  };
  std::vector<DstateSpace> dstate_spaces_;
  std::map<std::pair<const Agent*, ProbeId>, uint32_t> dprogs_;  // a probe's code in an agent's data area
  uint64_t tracer_dprog_faults_ = 0;
  bool agent_clauses_stopped_ = false;  // stop_agent_clauses(): also for agents set up later
  std::mt19937_64 fail_rng_{std::random_device{}()};  // Probe::fail at trap sites
};

}  // namespace probekit::engine
