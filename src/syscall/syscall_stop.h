// syscall/syscall_stop.h — reading a system call out of a ptrace stop.
//
// Owns the register conventions of x86-64 system calls as ptrace shows them,
// and documents the stop sequence the engine drives with the filter of
// seccomp_filter.h. Decoding is pure (registers in, values out); the ptrace
// calls belong to src/proc and src/engine.
//
// The stop sequence with the filter (per thread):
//
//   1. entry: the filter returned SECCOMP_RET_TRACE and the tracer set
//      PTRACE_O_TRACESECCOMP, so waitpid reports
//        status >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))
//      PTRACE_GETEVENTMSG gives the filter's data (nr & 0xffff). Registers:
//      orig_rax = nr, args in rdi rsi rdx r10 r8 r9 (r10, not rcx), rax =
//      -ENOSYS (nothing ran yet): entry_args().
//   2. to see the return, resume THIS thread with PTRACE_SYSCALL (not
//      PTRACE_CONT). The seccomp stop comes after the point where a
//      syscall-entry-stop would have been, so the next syscall stop is the
//      syscall-exit-stop: with PTRACE_O_TRACESYSGOOD,
//        WSTOPSIG(status) == (SIGTRAP | 0x80)
//      rax = the return value: exit_result(). A thread whose entry the D
//      program does not need a return for is simply resumed with
//      PTRACE_CONT at step 1 and costs one stop.
//   3. resume with PTRACE_CONT: the thread runs, unnamed calls cost nothing.
//
// Exceptions the engine must expect between 1 and 2:
//   * exit and exit_group never return: the next event is the exit
//     (PTRACE_EVENT_EXIT if enabled, then WIFEXITED/WIFSIGNALED);
//   * execve/execveat that succeed: with PTRACE_O_TRACEEXEC the
//     PTRACE_EVENT_EXEC stop comes first, then the syscall-exit-stop (rax 0);
//   * rt_sigreturn: the exit-stop shows the restored rax, not a result;
//   * a call interrupted by a signal — or by the engine's own
//     PTRACE_INTERRUPT while it blocks — exits with rax -ERESTARTSYS (512),
//     -ERESTARTNOINTR (513), -ERESTARTNOHAND (514) or
//     -ERESTART_RESTARTBLOCK (516), kernel-internal values the process never
//     sees. The signal-delivery-stop (or PTRACE_EVENT_STOP) follows that
//     exit stop, and when the kernel restarts the call it passes the filter
//     again: a second seccomp entry for the same call. exit_result() flags
//     these as `restarting`; the provider should fire neither :return for
//     them nor :entry again for the restart (tests/unit/syscall:
//     InterruptedCallExitsRestartingAndEntersAgain). Per-thread state
//     "inside named call nr, restarting" covers both.
//     516 is different: the call resumes as restart_syscall (nr 219), which
//     the filter lets through unless it is named, so the final return of a
//     restarted nanosleep/clock_nanosleep/poll/futex wait would go unseen.
//     When any such call is named, the engine should add restart_syscall to
//     the filter and map its stop back to the thread's remembered nr.
//   * Setting orig_rax to -1 at step 1 skips the call (rax returns as the
//     tracer set it); setting another number re-runs the filter on it.
//
// Without a filter (attach mode, PTRACE_SYSCALL for every call) entry and
// exit stops both read SIGTRAP|0x80; tell them apart by per-thread toggling
// or PTRACE_GET_SYSCALL_INFO (op ENTRY/EXIT/SECCOMP, kernel 5.3+).
#pragma once

#include <sys/user.h>

#include <array>
#include <cstdint>

namespace probekit::syscalls {

// What a waitpid status of a traced thread says about system calls.
enum class SyscallStopKind {
  seccomp_entry, // PTRACE_EVENT_SECCOMP: a named call is about to run
  syscall_stop,  // SIGTRAP|0x80 (needs PTRACE_O_TRACESYSGOOD): entry or exit,
                 // an exit when it follows a seccomp_entry resumed with PTRACE_SYSCALL
  other,         // not a stop, or a stop of another kind (signal, event, group-stop)
};

SyscallStopKind classify_stop(int wait_status);

struct SyscallEntryArgs {
  int nr = -1;                    // orig_rax
  std::array<uint64_t, 6> args{}; // arg0..arg5: rdi rsi rdx r10 r8 r9
};

struct SyscallResult {
  int64_t retval = 0;      // rax as a signed value: -1 on error, as libc returns
  int errno_value = 0;     // 1..4095 when rax was -errno, else 0
  bool restarting = false; // rax was -ERESTART*: the call will be restarted, not returned
};

// At a PTRACE_EVENT_SECCOMP stop or a syscall-entry-stop.
SyscallEntryArgs entry_args(const user_regs_struct& regs);

// At the syscall-exit-stop. Raw rax in -4095..-1 is an error: retval = -1,
// errno_value = -rax (DTrace's `errno`, the D `arg0` of :return is -1 then,
// as the process sees through libc). Any other rax is returned as is, so a
// pointer result (mmap) reads back unchanged.
SyscallResult exit_result(const user_regs_struct& regs);

// The raw return register, for printing what the kernel returned.
inline int64_t raw_return(const user_regs_struct& regs) {
  return static_cast<int64_t>(regs.rax);
}

} // namespace probekit::syscalls
