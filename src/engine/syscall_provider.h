// engine/syscall_provider.h — the engine side of D's syscall provider:
// syscall probes, per-thread call state, and how a thread is resumed.
//
// Owns the syscall probe table and, per thread, the call in progress. The
// Session routes every seccomp stop and syscall stop here and asks, at each
// resume, whether the thread must go on with PTRACE_SYSCALL instead of
// PTRACE_CONT (wants_syscall_stops) — the one place that decides it, so a
// thread in syscall mode that hits an int3 or an interrupt continues in
// syscall mode.
//
// Two mechanisms, one state machine (src/syscall/seccomp_filter.h policy):
//   * filter (launched with trace_syscalls): the kernel stops only the named
//     calls (PTRACE_EVENT_SECCOMP = entry). A thread whose probes want the
//     return is resumed with PTRACE_SYSCALL once, for the exit stop.
//   * tracer (attached, or launched without a filter): while any syscall
//     probe is enabled every thread runs under PTRACE_SYSCALL and every call
//     stops twice; PTRACE_GET_SYSCALL_INFO says entry or exit and the number
//     without reading all registers, so an unnamed call costs two stops and
//     two small ptrace requests.
// Interrupted calls (rax -ERESTART* at the exit stop) fire nothing: the call
// is remembered as "restarting" and the next entry of the same number (or of
// restart_syscall) from the same instruction continues it, so the program's
// one call is one entry and one return, whatever signals or PTRACE_INTERRUPTs
// (sampling, holding the world) cut into it.
//
// Known limitation: a remote system call (mapping an XOL area for a probe
// added while the world is held) run on a thread that sits at a syscall
// entry or seccomp stop skips that thread's call (remote_syscall sets
// orig_rax = -1). Adding breakpoint probes before run(), as the front ends
// do, never meets it; a fix would rewind such a thread to its syscall
// instruction (rip -= 2, rax = nr) and mark the call restarting.
#pragma once

#include <sys/types.h>

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "engine/backend.h"
#include "engine/trap_backend.h"
#include "probekit/probekit.h"
#include "proc/ptrace.h"

namespace probekit::engine {

// Numbers whose interrupted calls resume as restart_syscall
// (-ERESTART_RESTARTBLOCK): naming one adds restart_syscall to the filter.
bool restarts_through_restart_syscall(int nr);

// The numbers a launch filter must contain for `requested`: sorted, unique,
// restart_syscall added when needed.
std::vector<int> launch_filter_numbers(const std::vector<int>& requested);

class SyscallProvider {
public:
  // ppid_of(tgid): the parent pid a HitContext reports.
  SyscallProvider(HandlerRunner& runner, ThreadControl& control, std::function<int(pid_t)> ppid_of)
      : runner_(runner), control_(control), ppid_of_(std::move(ppid_of)) {}

  // Launch mode: the numbers of the installed filter (sorted). Empty: none.
  void set_filter(std::vector<int> nrs) { filter_ = std::move(nrs); }
  bool has_filter() const { return !filter_.empty(); }

  // Validates a probe (numbers known, in the filter when there is one).
  Status check(const SyscallProbe& probe) const;
  void add(ProbeId id, SyscallProbe probe);
  bool owns(ProbeId id) const { return probes_.count(id) != 0; }
  bool empty() const { return probes_.empty(); }
  Status set_enabled(ProbeId id, bool enabled);
  void remove(ProbeId id);
  ProbeStats stats(ProbeId id) const;
  // Drops every probe and stops firing (a filtered target being drained).
  void clear() { probes_.clear(); }

  // Tracer mode is on: every thread runs under PTRACE_SYSCALL.
  bool tracing_all() const;
  bool wants_syscall_stops(pid_t tid) const;

  // A StopKind::syscall or StopKind::seccomp stop of t: fires handlers and
  // resumes t (through ThreadControl, so a held world records it).
  void on_stop(Thread& t, const proc::Stop& s);
  // PTRACE_EVENT_EXEC of t (after rename): fires the return of its execve
  // (0) there, as the exit stop may be stepped over while the new image is
  // set up.
  void on_exec(Thread& t);
  void forget(pid_t tid) { calls_.erase(tid); }
  void rename(pid_t from, pid_t to);

  uint64_t stop_count() const { return stops_; }

private:
  struct Record {
    SyscallProbe probe;
    uint64_t hits = 0;
  };
  struct Call {
    int nr = -1;
    std::array<uint64_t, 6> args{};
    uint64_t ip = 0;  // just past the syscall instruction: identifies a restart
  };
  struct ThreadCalls {
    std::optional<Call> current;    // entered, its return wanted
    std::optional<Call> restarting; // interrupted, the kernel will restart it
    bool await_exit = false;        // filter mode: resumed with PTRACE_SYSCALL for the exit stop
  };

  bool matches(int nr) const;
  void on_entry(Thread& t, ThreadCalls& tc, int nr, const std::array<uint64_t, 6>& args, uint64_t ip,
                bool seccomp);
  void on_exit(Thread& t, ThreadCalls& tc);
  void fire(Thread& t, user_regs_struct& regs, const SyscallEvent& ev);

  HandlerRunner& runner_;
  ThreadControl& control_;
  std::function<int(pid_t)> ppid_of_;
  std::vector<int> filter_;
  std::map<ProbeId, Record> probes_;
  std::unordered_map<pid_t, ThreadCalls> calls_;
  uint64_t stops_ = 0;
};

}  // namespace probekit::engine
