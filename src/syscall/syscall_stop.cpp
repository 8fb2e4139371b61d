#include "syscall/syscall_stop.h"

#include <sys/ptrace.h>
#include <sys/wait.h>

#include <csignal>

// The kernel returns -errno in rax for errors (-4095..-1, IS_ERR_VALUE);
// -512..-516 are its restart codes, which never reach the process.

namespace probekit::syscalls {
namespace {

constexpr int64_t kMaxErrno = 4095;
constexpr int64_t kErestartSys = 512;
constexpr int64_t kErestartRestartBlock = 516;

} // namespace

SyscallStopKind classify_stop(int wait_status) {
  if (!WIFSTOPPED(wait_status)) return SyscallStopKind::other;
  if ((wait_status >> 8) == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
    return SyscallStopKind::seccomp_entry;
  }
  if (WSTOPSIG(wait_status) == (SIGTRAP | 0x80)) return SyscallStopKind::syscall_stop;
  return SyscallStopKind::other;
}

SyscallEntryArgs entry_args(const user_regs_struct& regs) {
  SyscallEntryArgs out;
  out.nr = static_cast<int>(static_cast<int64_t>(regs.orig_rax));
  out.args = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
  return out;
}

SyscallResult exit_result(const user_regs_struct& regs) {
  SyscallResult out;
  int64_t rax = static_cast<int64_t>(regs.rax);
  if (rax < 0 && rax >= -kMaxErrno) {
    out.retval = -1;
    out.errno_value = static_cast<int>(-rax);
    out.restarting = -rax >= kErestartSys && -rax <= kErestartRestartBlock;
  } else {
    out.retval = rax;
  }
  return out;
}

} // namespace probekit::syscalls
