// Register decoding at syscall stops (the live stops are in seccomp_ptrace_test).
#include "syscall/syscall_stop.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>

namespace probekit::syscalls {
namespace {

TEST(SyscallStop, EntryArgsUseOrigRaxAndR10) {
  user_regs_struct regs{};
  regs.orig_rax = __NR_openat;
  regs.rax = static_cast<uint64_t>(-ENOSYS);
  regs.rdi = 1;
  regs.rsi = 2;
  regs.rdx = 3;
  regs.rcx = 99; // clobbered by the syscall instruction: never an argument
  regs.r10 = 4;
  regs.r8 = 5;
  regs.r9 = 6;
  SyscallEntryArgs a = entry_args(regs);
  EXPECT_EQ(a.nr, __NR_openat);
  EXPECT_EQ(a.args, (std::array<uint64_t, 6>{1, 2, 3, 4, 5, 6}));
}

TEST(SyscallStop, EntryNrMinusOne) {
  user_regs_struct regs{};
  regs.orig_rax = static_cast<uint64_t>(-1);
  EXPECT_EQ(entry_args(regs).nr, -1);
}

TEST(SyscallStop, ExitResults) {
  user_regs_struct regs{};
  regs.rax = 42;
  SyscallResult r = exit_result(regs);
  EXPECT_EQ(r.retval, 42);
  EXPECT_EQ(r.errno_value, 0);
  EXPECT_FALSE(r.restarting);

  regs.rax = static_cast<uint64_t>(-ENOENT);
  r = exit_result(regs);
  EXPECT_EQ(r.retval, -1);
  EXPECT_EQ(r.errno_value, ENOENT);
  EXPECT_FALSE(r.restarting);
  EXPECT_EQ(raw_return(regs), -ENOENT);

  regs.rax = static_cast<uint64_t>(-4095);
  r = exit_result(regs);
  EXPECT_EQ(r.retval, -1);
  EXPECT_EQ(r.errno_value, 4095);

  // -4096 is not an error: an address such as mmap's near the top.
  regs.rax = static_cast<uint64_t>(-4096);
  r = exit_result(regs);
  EXPECT_EQ(r.retval, -4096);
  EXPECT_EQ(r.errno_value, 0);

  regs.rax = 0x7f0000001000;
  r = exit_result(regs);
  EXPECT_EQ(r.retval, 0x7f0000001000);
  EXPECT_EQ(r.errno_value, 0);
}

TEST(SyscallStop, RestartCodes) {
  user_regs_struct regs{};
  for (int code : {512, 513, 514, 516}) {
    regs.rax = static_cast<uint64_t>(-code);
    SyscallResult r = exit_result(regs);
    EXPECT_EQ(r.retval, -1);
    EXPECT_EQ(r.errno_value, code);
    EXPECT_TRUE(r.restarting) << code;
  }
  regs.rax = static_cast<uint64_t>(-EINTR);
  EXPECT_FALSE(exit_result(regs).restarting);
  regs.rax = static_cast<uint64_t>(-517);
  EXPECT_FALSE(exit_result(regs).restarting);
}

// Wait statuses as the kernel encodes them: (sig | event << 8) << 8 | 0x7f.
constexpr int stopped(int sig, int event = 0) {
  return ((sig | (event << 8)) << 8) | 0x7f;
}

TEST(SyscallStop, ClassifyWaitStatus) {
  EXPECT_EQ(stopped(SIGTRAP, PTRACE_EVENT_SECCOMP), 0x7057f);
  EXPECT_EQ(classify_stop(stopped(SIGTRAP, PTRACE_EVENT_SECCOMP)), SyscallStopKind::seccomp_entry);
  EXPECT_EQ(classify_stop(stopped(SIGTRAP | 0x80)), SyscallStopKind::syscall_stop);
  EXPECT_EQ(classify_stop(stopped(SIGTRAP)), SyscallStopKind::other); // int3, single step
  EXPECT_EQ(classify_stop(stopped(SIGTRAP, PTRACE_EVENT_EXEC)), SyscallStopKind::other);
  EXPECT_EQ(classify_stop(stopped(SIGSTOP)), SyscallStopKind::other);
  EXPECT_EQ(classify_stop(0), SyscallStopKind::other);       // exited with 0
  EXPECT_EQ(classify_stop(SIGKILL), SyscallStopKind::other); // killed
  ASSERT_TRUE(WIFSTOPPED(stopped(SIGTRAP | 0x80)));
}

} // namespace
} // namespace probekit::syscalls
