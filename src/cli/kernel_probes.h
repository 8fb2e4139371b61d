// cli/kernel_probes.h — D's kernel providers over src/kernel: the kernel's
// static tracepoints, system-wide.
//
//   tracepoint:SUBSYSTEM:EVENT      every tracepoint (bpftrace's spelling;
//                                   globs), args->FIELD from its format
//   proc:::exec-success             sched:sched_process_exec
//   proc:::exit                     sched:sched_process_exit (the last thread)
//   proc:::create                   sched:sched_process_fork
//   sched:::off-cpu / on-cpu        sched:sched_switch (on-cpu: the next
//                                   thread's pid and name from the fields)
//   syscall::NAME:entry|return      when there is no -c/-p: every process;
//                                   syscalls:sys_enter_NAME/sys_exit_NAME
//                                   for up to 64 named calls (only they
//                                   cost anything), else raw_syscalls
//   kprobe:FUNC, kretprobe:FUNC,    a kprobe_events event per function
//   fbt::FUNC:entry|return          (group probekit_PID), removed at exit;
//                                   an error naming the missing kernel
//                                   support (CONFIG_KPROBES) where absent
//   profile:::profile-N             when there is no -c/-p: every CPU, a
//                                   PERF_COUNT_SW_CPU_CLOCK sampler with a
//                                   period of 1/N s (no tracefs needed);
//                                   arg0 the kernel PC, arg1 the user PC,
//                                   the other 0, as DTrace's profile-N
//
// The one idea: the D program sees a kernel event as any other firing: a
// HitContext (pid, tid, execname, cpu, timestamp; no registers, no user
// memory) and a FireContext whose `record` args->FIELD reads through the
// ProbeFields registered with the probe. Perf and tracefs stay in
// src/kernel: this file only maps names and fills contexts.
//
// Order: the events are opened (perf_event_open, every CPU) before a -c
// command starts, so its own exec is seen; their samples wait in the rings
// until the program is compiled for the real pid and bound, then drain.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "d/program.h"
#include "kernel/perf_events.h"
#include "kernel/tracefs.h"

namespace probekit::cli {

struct Timeline;  // cli/d_probes.h

// The module of every syscall probe, the target's or the system's, as
// dtrace-utils names them (syscall:vmlinux:read:entry): probemod says it,
// -l lists it, and a description's module must be empty or match it.
inline constexpr const char* kSyscallModule = "vmlinux";
bool syscall_module_matches(const std::string& module);

class KernelProbes {
public:
  // has_target: -c or -p given (syscall::: then means the target's calls).
  explicit KernelProbes(bool has_target) : has_target_(has_target) {}
  // Closes the perf events, then removes the kprobes it created.
  ~KernelProbes();
  KernelProbes(const KernelProbes&) = delete;
  KernelProbes& operator=(const KernelProbes&) = delete;

  // Whether a description is one of the kernel providers above.
  bool is_kernel(const d::ProbeDescription& desc) const;
  // For the compiler: the fields args-> may name for a description.
  d::ProbeFieldsAnswer fields_for(const d::ProbeDescription& desc);
  // Opens tracefs (mounting it as root when needed), checks every kernel
  // description of the program names something, and opens the perf events
  // of the tracepoints they need: before a -c command starts.
  // ring_bytes: each CPU's ring (DTrace's bufsize, per CPU as there),
  // rounded up to a power of two of pages.
  Status open(const std::vector<d::ClauseInfo>& clauses, size_t ring_bytes = kDefaultRingBytes);
  static constexpr size_t kDefaultRingBytes = 1 << 20;
  bool active() const { return events_ != nullptr; }

  // Registers the probes a description names with the program (after the
  // final compile); the number matched.
  Result<size_t> bind(d::Program& program, const d::ProbeDescription& desc);

  // Waits for events at most timeout_ms (a signal ends the wait early).
  void wait(int timeout_ms);
  // Fires the program for every event read; true once exit() was called.
  bool drain(d::Program& program);
  // -f chrome: each event fired also becomes an instant event of the
  // timeline, named SUBSYSTEM:EVENT, with the record's fields as args.
  void set_timeline(Timeline* timeline) { timeline_ = timeline; }
  // "probekit: N drops on CPU C" for each CPU whose ring lost events.
  void report_drops() const;

  // -l: rows (provider, module, function, name) for a description, each
  // with its tracepoint's fields (for -l -v; empty where not known), or an
  // error.
  struct Listed {
    d::ProbeKey key;
    std::vector<d::ProbeField> fields;
  };
  Result<std::vector<Listed>> list(const d::ProbeDescription& desc);

  // When BEGIN fires: a sampler's samples taken before it are dropped, as
  // dtrace-utils' probes do nothing before tracing is active.
  void set_begin_ns(uint64_t ns) { begin_ns_ = ns; }

private:
  // profile-N and tick-N with no target: one CPU-clock sampler per name
  // (tick-N on one CPU, as dtrace-utils' dt_prov_profile.c: -x cpu, else
  // the first online CPU), firing in whatever runs there, idle included.
  struct Sampler {
    std::string name;       // "profile-97", "tick-1sec"
    uint64_t period_ns = 0;
    uint32_t probe_id = 0;  // once bound
    int cpu = -1;           // tick-N: its one CPU; profile-N: every CPU (-1)
  };
  bool is_sampler(const d::ProbeDescription& desc) const;
  Result<size_t> bind_sampler(d::Program& program, const d::ProbeDescription& desc);
  void fire_sample(d::Program& program, const kernel::KernelEvent& ev);

  enum class Role : uint8_t { plain, exec_success, exit, create, on_cpu, off_cpu, sys_enter, sys_exit };
  struct Target {  // one (tracepoint, role): what it fires
    Role role = Role::plain;
    uint32_t probe_id = 0;                        // plain and proc/sched roles
    std::map<uint32_t, uint32_t> syscall_probes;  // sys_enter/sys_exit: nr -> probe id
    std::vector<d::ProbeField> fields;
  };
  struct Tracepoint {
    kernel::TracepointFormat format;
    std::vector<Target> targets;
  };
  struct Mapping {  // a stable name and the tracepoint under it
    const char* provider;
    const char* name;
    const char* subsystem;
    const char* event;
    Role role;
  };
  static const std::vector<Mapping>& mappings();

  Result<const kernel::Tracefs*> tracefs();
  // The (subsystem, event, role, key) a description names.
  struct Named {
    std::string subsystem, event;
    Role role;
    d::ProbeKey key;
    int nr = -1;  // syscalls:sys_enter_NAME/sys_exit_NAME: the call's number
  };
  Result<std::vector<Named>> resolve(const d::ProbeDescription& desc);
  Result<Tracepoint*> tracepoint(const std::string& subsystem, const std::string& event);
  void fire(d::Program& program, const kernel::KernelEvent& ev, const Tracepoint& tp, const Target& t);

  bool has_target_;
  Timeline* timeline_ = nullptr;
  std::optional<kernel::Tracefs> tracefs_;
  std::optional<Error> tracefs_error_;
  std::map<std::string, Tracepoint> tracepoints_;  // "sub:event"
  std::map<uint32_t, Tracepoint*> by_id_;
  std::unique_ptr<kernel::PerfEvents> events_;
  std::vector<Sampler> samplers_;  // in the order of EventSet::sample_periods_ns
  bool tick_timers_ = false;        // tick-N could not sample a CPU: probekit's timers instead
  uint64_t begin_ns_ = 0;           // BEGIN: samples before it are dropped (not active yet)
  bool exit_requested_ = false;
  std::vector<std::string> kprobes_;  // events created in group kprobe_group()
  std::string kprobe_group() const;
  Result<std::vector<Named>> resolve_kprobe(const d::ProbeDescription& desc, bool create);
};

}  // namespace probekit::cli
