// engine/trap_backend.h — int3 + out-of-line execution, handlers in the tracer.
//
// The one idea: the original instruction is never put back. A hit is one
// ptrace stop: the int3 traps, the handlers run, and the thread continues
// with the instruction's effect already applied — either *emulated* here
// (relative jmp/jcc/call, ret, nop, push: registers and stack updated
// through /proc/PID/mem) or *boosted*: rip is set to the site's XOL slot,
// which holds a copy of the instruction (rip-relative displacement adjusted)
// followed by a jump back to the next original instruction. Each site has
// one immutable slot: nothing is written per hit, so any number of threads
// can run the same copy at once (kernel uprobes needs per-thread slots only
// because it single-steps and writes the slot per hit). Instructions that
// cannot be boosted (indirect branches, rip-relative targets out of reach,
// and any site whose probes have a post_handler) are single-stepped in the
// slot with the kernel's fix-ups (fix_ip, fix_call, scratch register).
//
// The naive mode (restore the byte, step in place, re-insert) exists only so
// benchmarks can compare against it; it is wrong with threads by design.
#pragma once

#include "engine/backend.h"

namespace probekit::engine {

enum class ThreadMode { normal, xol_step, leave_slot, naive_step };
enum class ResumeKind { cont, step, listen };

// One traced thread (kept here because the trap backend drives its steps).
struct Thread {
  pid_t tid = 0;
  pid_t tgid = 0;
  std::shared_ptr<AddressSpace> as;
  bool stopped = false;           // in a ptrace-stop we have not resumed yet
  ResumeKind resume = ResumeKind::cont;
  int resume_signal = 0;
  bool interrupt_sent = false;
  std::vector<int> held;          // signals taken off while it runs a copy
  ThreadMode mode = ThreadMode::normal;
  ProbeSite* step_site = nullptr;
  uint64_t saved_scratch = 0;
  int leave_steps = 0;
  std::string comm;
  bool comm_loaded = false;
  // Between ld.so's RT_ADD and RT_CONSISTENT notifications: the loading
  // thread runs under PTRACE_SYSCALL so that each library's probes arm when
  // its code is mapped, before relocation runs IFUNC resolvers.
  bool following_loader = false;
  bool loader_exec_map = false;   // its syscall in flight maps code
};

class ThreadControl {
public:
  virtual ~ThreadControl() = default;
  // Resume (or, while the world is held, record how to resume).
  virtual void resume(Thread& t, ResumeKind kind, int signo) = 0;
};

class TrapBackend : public Backend {
public:
  TrapBackend(HandlerRunner& runner, ThreadControl& control, bool naive)
      : runner_(runner), control_(control), naive_(naive) {}
  const char* name() const override { return naive_ ? "trap-naive" : "trap"; }
  // Runs before any site is planned (the session turns a jump probe whose
  // patched bytes contain the address back into a trap probe).
  std::function<Status(AddressSpace&, uint64_t address)> before_plan;
  Result<std::unique_ptr<ProbeSite>> plan(AddressSpace& as, const ResolvedSite& r,
                                          const SlotProvider& slots) override;
  Status arm(AddressSpace& as, ProbeSite& site) override;
  Status disarm(AddressSpace& as, ProbeSite& site) override;

  // A thread stopped on site's int3; regs already read (rip = site + 1).
  void on_breakpoint(Thread& t, ProbeSite& site, user_regs_struct& regs, bool hold);
  // A SIGTRAP while t.mode != normal: a step finished (or is still pending).
  void on_step_trap(Thread& t);
  // A signal-delivery-stop for t (any signal but our traps). Holds it while
  // the thread is inside a copy; reports faults of the copy at the site.
  void on_signal(Thread& t, int signo);
  // Moves a stopped thread whose rip is inside an XOL copy back to original
  // code (single steps); used before detaching.
  Status leave_slot_now(Thread& t);

private:
  void execute(Thread& t, ProbeSite& site, user_regs_struct& regs);
  void start_step(Thread& t, ProbeSite& site, user_regs_struct& regs);
  void finish(Thread& t, int signo_hint);
  void resume_with_held(Thread& t);

  HandlerRunner& runner_;
  ThreadControl& control_;
  bool naive_;
};

}  // namespace probekit::engine
