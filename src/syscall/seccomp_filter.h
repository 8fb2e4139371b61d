// syscall/seccomp_filter.h — a seccomp filter that stops only the named
// system calls at the tracer (SECCOMP_RET_TRACE), and how it is installed.
//
// The one idea: D's `syscall::NAME:` probes must cost nothing for the calls
// nobody named. PTRACE_SYSCALL stops at every call (two stops each); a
// seccomp filter evaluated by the kernel returns SECCOMP_RET_TRACE for the
// named numbers only, and the tracer sees exactly those as
// PTRACE_EVENT_SECCOMP stops. Everything else is SECCOMP_RET_ALLOW.
//
// Program shape (classic BPF over struct seccomp_data):
//
//   0: ld  [4]                       ; seccomp_data.arch
//   1: jeq #AUDIT_ARCH_X86_64, 1, 0
//   2: ret #SECCOMP_RET_ALLOW         ; not x86-64 (int 0x80 from a 64-bit task): not ours
//   3: ld  [0]                       ; seccomp_data.nr
//   4: jset #__X32_SYSCALL_BIT, 0, 1
//   5: ret #SECCOMP_RET_ALLOW         ; x32 ABI call: other numbering, not ours
//   6: <decision tree over the sorted, de-duplicated numbers>
//
// Decision tree: up to kLeafSize numbers are tested linearly
// (`jeq #nr, 0, 1; ret #TRACE|nr` per number, then `ret #ALLOW`). A larger set
// is split at its median m: `jge #m` sends the upper half one way and the
// lower half the other, recursively. A call nobody named (the common case,
// and the one that must stay cheap) costs ~log2(n/kLeafSize) + kLeafSize
// comparisons instead of n. Classic BPF jumps only forward and jt/jf are 8
// bits, so when the upper half is longer than 255 instructions the node
// becomes `jge #m, 1, 0; ja +len(upper)`, `ja` taking a 32-bit offset.
// The whole program is at most BPF_MAXINSNS (4096) instructions; all the
// x86-64 calls at once (362 in these headers) take 986.
//
// SECCOMP_RET_TRACE's data field carries `nr & SECCOMP_RET_DATA`; the tracer
// reads it with PTRACE_GETEVENTMSG at the stop, though orig_rax says the same.
#pragma once

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "util/result.h"

namespace probekit::syscalls {

// Numbers tested linearly at a leaf of the decision tree.
inline constexpr size_t kLeafSize = 4;

// The classic-BPF program described above for `nrs` (any order, duplicates
// allowed). Numbers that can never reach the tree (negative, or with the x32
// bit set) are dropped; prepare() reports them as errors instead. An empty
// list gives a program that allows everything.
std::vector<sock_filter> build_trace_filter(const std::vector<int>& nrs);

// The program as the kernel reads it in memory: 8 bytes per instruction,
// little endian {u16 code; u8 jt; u8 jf; u32 k}.
std::vector<uint8_t> filter_bytes(const std::vector<sock_filter>& program);

// Layout of struct sock_fprog in a 64-bit target:
//   offset 0: unsigned short len   (number of instructions)
//   offset 2: 6 bytes of padding   (written as zero)
//   offset 8: struct sock_filter*  (address of the first instruction)
inline constexpr size_t kFprogSize = 16;
inline constexpr size_t kFprogLenOffset = 0;
inline constexpr size_t kFprogFilterOffset = 8;

// A filter built before fork: everything that allocates happens here, so
// that install_prepared() in the child only makes system calls.
class PreparedFilter {
public:
  PreparedFilter() = default;

  const std::vector<int>& nrs() const { return nrs_; } // sorted, unique
  const std::vector<sock_filter>& program() const { return program_; }

private:
  friend Result<PreparedFilter> prepare(const std::vector<int>& nrs);
  std::vector<int> nrs_;
  std::vector<sock_filter> program_;
};

// Validates `nrs` (each a known x86-64 system call number; not empty) and
// builds the program. Errors are usage errors naming the bad number.
Result<PreparedFilter> prepare(const std::vector<int>& nrs);

// Launch mode, in the child between fork and exec. Makes exactly two system
// calls and allocates nothing, so it is async-signal-safe after fork():
//   prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
//   seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog)
// (the child is single-threaded: no TSYNC). Returns 0, or the errno of the
// call that failed. Order the child and the tracer like this:
//   child:  ptrace(PTRACE_TRACEME); raise(SIGSTOP);
//   tracer: waitpid; ptrace(PTRACE_SETOPTIONS, pid, 0,
//             PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD |
//             PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
//             PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL); PTRACE_CONT
//   child:  install_prepared(filter); execve(...)
// The options must be set BEFORE the filter can fire: with a tracer that has
// not enabled PTRACE_O_TRACESECCOMP, SECCOMP_RET_TRACE fails the call with
// ENOSYS exactly as if no tracer were attached. PTRACE_O_EXITKILL: should
// the tracer die, the filtered target dies with it rather than running on
// with ENOSYS for every named call. The filter survives execve
// and is inherited by every fork/clone, hence the TRACEFORK/VFORK/CLONE
// options: an untraced descendant would get ENOSYS from every named call.
int install_prepared(const PreparedFilter& filter) noexcept;

// prepare() + install_prepared() on the calling thread, for code that is not
// between fork and exec (tests, single-threaded helpers).
Status install_in_self(const std::vector<int>& nrs);

// Attach mode, for a process that is already running and ptrace-stopped:
// the bytes to write at `remote_addr` in the target (e.g. into a page from a
// remote mmap) so that a remote
//   seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, remote_addr)
// installs the filter. Layout: struct sock_fprog at offset 0 (see
// kFprogSize), its filter pointer = remote_addr + kFprogSize, the program's
// filter_bytes() right after it. remote_addr must be 8-byte aligned.
//
// Before that remote seccomp the engine must:
//   * remote prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) in the target, unless the
//     tracer knows the target holds CAP_SYS_ADMIN in its user namespace
//     (seccomp checks the *target's* capabilities, not the tracer's); without
//     it seccomp fails with EACCES. NO_NEW_PRIVS is itself irreversible: a
//     later setuid execve in the target no longer gains privileges;
//   * set PTRACE_O_TRACESECCOMP on EVERY thread (TSYNC puts the filter on
//     every thread of the process; a thread without the option gets ENOSYS).
// With TSYNC the call returns 0, or the tid of a thread that could not be
// synchronised (it has a diverging filter of its own): nothing installed.
//
// A filter can never be removed. After PTRACE_DETACH, SECCOMP_RET_TRACE with
// no tracer makes every named call fail with ENOSYS while the process keeps
// running (tests/unit/syscall asserts this; the call in flight at the stop
// where the tracer detached still runs). Nothing undoes it: filters stack
// and the strictest verdict wins (KILL > TRAP > ERRNO > USER_NOTIF > TRACE >
// LOG > ALLOW), so a later RET_ALLOW filter does not override RET_TRACE;
// BPF cannot read target memory, so a "tracing enabled" flag word is
// impossible; RET_USER_NOTIF also fails calls with ENOSYS once its listener
// fd is closed, and would move the work into the target. Hence the policy
// the engine follows:
//
//   * attach mode (-p PID): NEVER install a filter. The process outlives
//     the session, so a filter would break it at detach. Use PTRACE_SYSCALL
//     stops (every call costs an entry and an exit stop; filter by nr in the
//     tracer) and say so in -v output. remote_image() exists for an explicit
//     opt-in only (the user accepting that the process must keep a tracer
//     until it exits, as in launch mode).
//   * launch mode (-c CMD): install the filter between fork and exec
//     (install_prepared), with PTRACE_O_EXITKILL and fork/vfork/clone
//     following. The process was created for the session; the session lasts
//     until it and every descendant exit. When the D program ends early
//     (exit(), Ctrl-C, END), the engine disarms every probe, prints the
//     results and keeps passing seccomp stops through (PTRACE_CONT at each,
//     no other work) until the process tree exits — it does not detach and
//     does not kill. A tracer that dies takes the target with it
//     (EXITKILL), never leaving it running with ENOSYS.
std::vector<uint8_t> remote_image(const PreparedFilter& filter, uint64_t remote_addr);

} // namespace probekit::syscalls
