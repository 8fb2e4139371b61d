// proc/ptrace.h — ptrace process control: launch, seize, the wait loop's
// stop classification, resume requests, registers, remote syscalls.
//
// The one idea: everything is PTRACE_SEIZE based. SEIZE (unlike ATTACH)
// sends no SIGSTOP, lets us PTRACE_INTERRUPT a running thread, reports
// group-stops as PTRACE_EVENT_STOP (so PTRACE_LISTEN keeps job control
// working) and auto-attaches clone/fork/vfork children with the same
// options. This layer only *classifies* stops; deciding what a stop means
// (our breakpoint? the program's own SIGTRAP?) is the engine's job, because
// only the engine knows which addresses it patched.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proc/maps.h"
#include "proc/memory.h"
#include "util/result.h"

namespace probekit::proc {

// Options every seized thread gets (auto-attached children inherit them).
unsigned long trace_options();

enum class StopKind {
  exited,       // WIFEXITED; code = exit status
  killed,       // WIFSIGNALED; signo = the fatal signal
  signal,       // signal-delivery-stop (SIGTRAP included: the engine looks at it)
  group_stop,   // PTRACE_EVENT_STOP with a stop signal: resume with PTRACE_LISTEN
  interrupt,    // PTRACE_EVENT_STOP with SIGTRAP: PTRACE_INTERRUPT, new child, LISTEN end
  clone,        // event_msg = new thread's tid
  fork,         // event_msg = child's pid
  vfork,        // event_msg = child's pid
  vfork_done,
  exec,         // event_msg = the exec'ing thread's former tid
  exit_event,   // PTRACE_EVENT_EXIT (not requested by default)
  syscall,      // syscall-stop (TRACESYSGOOD)
  seccomp,      // PTRACE_EVENT_SECCOMP (needs PTRACE_O_TRACESECCOMP); event_msg = filter data
  other,
};

const char* to_string(StopKind kind);

struct Stop {
  pid_t tid = 0;
  StopKind kind = StopKind::other;
  int signo = 0;             // the stop signal (or fatal signal for killed)
  int code = 0;              // exit status for exited
  unsigned long event_msg = 0;
  int raw_status = 0;
};

// Blocks in waitpid(-1, __WALL). Returns nullopt when interrupted by a signal
// (EINTR: the caller checks its stop flag) and an error when there is no
// child left (ECHILD).
Result<std::optional<Stop>> wait_stop(bool block = true);
// Waits for one specific thread.
Result<Stop> wait_thread(pid_t tid);
Stop classify(pid_t tid, int status);

// Resume requests; ESRCH (the thread died meanwhile) is reported as
// no_such_process so callers can ignore it.
Status cont(pid_t tid, int signo = 0);
Status single_step(pid_t tid, int signo = 0);
Status listen(pid_t tid);
// PTRACE_SYSCALL: like cont, but the thread also stops at the next syscall
// entry or exit.
Status resume_syscall(pid_t tid, int signo = 0);
Status interrupt(pid_t tid);
Status detach(pid_t tid, int signo = 0);

Result<user_regs_struct> get_regs(pid_t tid);
Status set_regs(pid_t tid, const user_regs_struct& regs);
Result<user_fpregs_struct> get_fpregs(pid_t tid);
Result<siginfo_t> get_siginfo(pid_t tid);

// Seizes one thread with trace_options() | extra_options. The error explains
// EPERM (other tracer, Yama, dumpability) and ESRCH.
Status seize(pid_t tid, unsigned long extra_options = 0);

// PTRACE_GET_SYSCALL_INFO at a syscall stop (kernel 5.3+): which side of the
// call the stop is (entry/exit/seccomp), without reading every register.
struct SyscallInfo {
  enum class Op { none, entry, exit, seccomp } op = Op::none;
  uint64_t ip = 0;            // rip: just past the syscall instruction
  int nr = -1;                // entry and seccomp
  uint64_t args[6] = {};      // entry and seccomp
  int64_t rval = 0;           // exit: raw rax
  bool is_error = false;      // exit
};
Result<SyscallInfo> get_syscall_info(pid_t tid);
// Seizes and interrupts every thread of pid, re-reading /proc/PID/task until
// no new thread appears. Returns the tids seized (each will report a stop).
Result<std::vector<pid_t>> seize_all(pid_t pid);
std::vector<pid_t> list_threads(pid_t pid);

// Forks and execs argv (PATH search) traced: the child waits on a pipe until
// it is seized, then execs. Returns the pid, stopped at PTRACE_EVENT_EXEC of
// the new image (no instruction of it has run yet).
struct LaunchSpec {
  std::vector<std::string> argv;
  std::string stdin_path;   // empty: inherit
  std::string stdout_path;  // empty: inherit (created/truncated otherwise)
  // Added to trace_options() when seizing the child (e.g. TRACESECCOMP |
  // EXITKILL); set before the child runs before_exec.
  unsigned long extra_options = 0;
  // Runs in the child after it is seized and its stdin/stdout are set up,
  // right before exec: async-signal-safe code only (no allocation). Returns
  // 0 or an errno, which fails the launch. Used to install a seccomp filter
  // (syscall/seccomp_filter.h install_prepared).
  int (*before_exec)(const void* arg) = nullptr;
  const void* before_exec_arg = nullptr;
  const char* before_exec_what = "";  // for the error: "cannot install the seccomp filter"
};
Result<pid_t> launch_stopped(const LaunchSpec& spec);

// Reads /proc/TID/status field "Name:" style lines.
std::optional<std::string> status_field(pid_t tid, const std::string& field);

// Runs one system call in a stopped thread: saves its registers, points rip
// at the `syscall` instruction at syscall_insn (an existing `0f 05` in an
// executable mapping), single-steps it and restores everything. Returns the
// raw rax (negative errno on failure). Signals that arrive meanwhile are
// taken off the thread and appended to *held (the caller delivers them later).
// `keep`, when given, is called with the thread's registers before they
// are changed and with nullptr once they are back, so that someone who
// outlives probekit can put them back (the agent: engine/agent.h
// remote_call).
struct SyscallArgs {
  long nr = 0;
  uint64_t args[6] = {};
};
using KeepRegs = std::function<void(const user_regs_struct*)>;
Result<int64_t> remote_syscall(pid_t tid, uint64_t syscall_insn, const SyscallArgs& call,
                               std::vector<int>* held = nullptr, const KeepRegs& keep = {});
// Finds a `0f 05` in the vDSO or another r-x mapping.
Result<uint64_t> find_syscall_insn(const ProcessMemory& mem, const std::vector<MapEntry>& maps);

}  // namespace probekit::proc
