// The filter under a real tracer: which calls stop, what the stops show, and
// what happens to a filtered process once its tracer is gone. These tests
// are the executable form of the rules in seccomp_filter.h and
// syscall_stop.h; the engine relies on every fact asserted here.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "syscall/seccomp_filter.h"
#include "syscall/syscall_stop.h"
#include "syscall/syscall_table.h"

namespace probekit::syscalls {
namespace {

constexpr int kSeccompStop = SIGTRAP | (PTRACE_EVENT_SECCOMP << 8);
constexpr int kSyscallStop = SIGTRAP | 0x80;

// Forks a child that asks to be traced and stops itself; `body` runs after
// the tracer resumes it and its return value is the exit code. The parent
// gets the pid with the child in its initial SIGSTOP stop.
template <typename Body> pid_t spawn_traced(Body body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(120);
    syscall(__NR_kill, syscall(__NR_getpid), SIGSTOP);
    _exit(body());
  }
  return pid;
}

int wait_stop(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

user_regs_struct regs_of(pid_t pid) {
  user_regs_struct regs{};
  EXPECT_EQ(ptrace(PTRACE_GETREGS, pid, nullptr, &regs), 0);
  return regs;
}

std::string status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      size_t v = line.find_first_not_of(" \t", field.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  return "";
}

constexpr long kOptions = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;

TEST(SeccompPtrace, OnlyTheNamedCallStops) {
  auto filter = prepare({__NR_getppid});
  ASSERT_TRUE(filter);
  const pid_t me = getpid();
  pid_t child = spawn_traced([&] {
    if (install_prepared(*filter) != 0) return 100;
    for (int i = 0; i < 1000; ++i)
      syscall(__NR_getpid);
    for (int i = 0; i < 7; ++i) {
      if (syscall(__NR_getppid, 11, 22, 33, 44, 55, 66) != me) return 101;
    }
    return 0;
  });
  ASSERT_GT(child, 0);
  int status = wait_stop(child);
  ASSERT_TRUE(WIFSTOPPED(status));
  ASSERT_EQ(WSTOPSIG(status), SIGSTOP);
  ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, kOptions), 0);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);

  int seccomp_stops = 0, exit_stops = 0, other_stops = 0;
  while (true) {
    status = wait_stop(child);
    ASSERT_NE(status, -1);
    if (WIFEXITED(status) || WIFSIGNALED(status)) break;
    ASSERT_TRUE(WIFSTOPPED(status));
    if ((status >> 8) != kSeccompStop) {
      ++other_stops;
      ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
      continue;
    }
    ++seccomp_stops;
    unsigned long msg = 0;
    ASSERT_EQ(ptrace(PTRACE_GETEVENTMSG, child, nullptr, &msg), 0);
    EXPECT_EQ(msg, static_cast<unsigned long>(__NR_getppid));
    user_regs_struct regs = regs_of(child);
    SyscallEntryArgs entry = entry_args(regs);
    EXPECT_EQ(entry.nr, __NR_getppid);
    EXPECT_EQ(entry.args, (std::array<uint64_t, 6>{11, 22, 33, 44, 55, 66}));
    EXPECT_EQ(static_cast<int64_t>(regs.rax), -ENOSYS); // nothing ran yet

    // One PTRACE_SYSCALL to see this call's exit, then back to PTRACE_CONT.
    ASSERT_EQ(ptrace(PTRACE_SYSCALL, child, nullptr, nullptr), 0);
    status = wait_stop(child);
    ASSERT_TRUE(WIFSTOPPED(status));
    ASSERT_EQ(WSTOPSIG(status), kSyscallStop);
    ++exit_stops;
    regs = regs_of(child);
    EXPECT_EQ(static_cast<int>(regs.orig_rax), __NR_getppid);
    SyscallResult result = exit_result(regs);
    EXPECT_EQ(result.retval, me);
    EXPECT_EQ(result.errno_value, 0);
    ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(seccomp_stops, 7);
  EXPECT_EQ(exit_stops, 7);
  EXPECT_EQ(other_stops, 0) << "the 1000 getpid calls must not stop";
}

TEST(SeccompPtrace, ErrorsReadBackAsErrno) {
  auto filter = prepare({__NR_close});
  ASSERT_TRUE(filter);
  pid_t child = spawn_traced([&] {
    if (install_prepared(*filter) != 0) return 100;
    return syscall(__NR_close, 12345) == -1 && errno == EBADF ? 0 : 101;
  });
  ASSERT_GT(child, 0);
  ASSERT_EQ(WSTOPSIG(wait_stop(child)), SIGSTOP);
  ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, kOptions), 0);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  int status = wait_stop(child);
  ASSERT_EQ(status >> 8, kSeccompStop);
  EXPECT_EQ(entry_args(regs_of(child)).args[0], 12345u);
  ASSERT_EQ(ptrace(PTRACE_SYSCALL, child, nullptr, nullptr), 0);
  status = wait_stop(child);
  ASSERT_EQ(WSTOPSIG(status), kSyscallStop);
  SyscallResult r = exit_result(regs_of(child));
  EXPECT_EQ(r.retval, -1);
  EXPECT_EQ(r.errno_value, EBADF);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  status = wait_stop(child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

void on_usr1(int) {}

// A blocking named call interrupted by a signal: the exit stop shows the
// kernel's -ERESTARTSYS (a "return" the process never sees), the signal is
// delivered, and the restarted call passes the filter again: a second entry.
// The engine's own PTRACE_INTERRUPT of a blocked thread does the same.
TEST(SeccompPtrace, InterruptedCallExitsRestartingAndEntersAgain) {
  auto filter = prepare({__NR_read});
  ASSERT_TRUE(filter);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = spawn_traced([&] {
    struct sigaction sa {};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGUSR1, &sa, nullptr) != 0) return 104;
    if (install_prepared(*filter) != 0) return 100;
    char c = 0;
    long n = syscall(__NR_read, fds[0], &c, 1);
    return n == 1 && c == 'x' ? 0 : 105;
  });
  ASSERT_GT(child, 0);
  ASSERT_EQ(WSTOPSIG(wait_stop(child)), SIGSTOP);
  ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, kOptions), 0);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);

  int status = wait_stop(child);
  ASSERT_EQ(classify_stop(status), SyscallStopKind::seccomp_entry);
  EXPECT_EQ(entry_args(regs_of(child)).args[0], static_cast<uint64_t>(fds[0]));
  ASSERT_EQ(ptrace(PTRACE_SYSCALL, child, nullptr, nullptr), 0);
  ASSERT_EQ(kill(child, SIGUSR1), 0); // blocked in read, or about to be

  status = wait_stop(child);
  ASSERT_EQ(classify_stop(status), SyscallStopKind::syscall_stop);
  SyscallResult r = exit_result(regs_of(child));
  EXPECT_EQ(r.errno_value, 512); // ERESTARTSYS
  EXPECT_TRUE(r.restarting);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);

  status = wait_stop(child);
  ASSERT_TRUE(WIFSTOPPED(status));
  ASSERT_EQ(status >> 8, SIGUSR1); // signal-delivery-stop
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, SIGUSR1), 0);

  status = wait_stop(child);
  ASSERT_EQ(classify_stop(status), SyscallStopKind::seccomp_entry); // the restart
  EXPECT_EQ(entry_args(regs_of(child)).nr, __NR_read);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  ASSERT_EQ(ptrace(PTRACE_SYSCALL, child, nullptr, nullptr), 0);
  status = wait_stop(child);
  ASSERT_EQ(classify_stop(status), SyscallStopKind::syscall_stop);
  r = exit_result(regs_of(child));
  EXPECT_EQ(r.retval, 1);
  EXPECT_FALSE(r.restarting);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  status = wait_stop(child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  close(fds[0]);
  close(fds[1]);
}

// Results a child reports through a pipe.
struct Report {
  long first = 0, second = 0, second_errno = 0, unnamed = 0;
};

// THE HAZARD. The tracer detaches at a seccomp stop. The call in flight then
// runs normally (the kernel re-runs the filter after the stop and lets a
// RET_TRACE through), but every later named call fails with ENOSYS while the
// process keeps running, for the rest of its life.
TEST(SeccompPtrace, AfterDetachNamedCallsFailWithEnosys) {
  auto filter = prepare({__NR_getppid});
  ASSERT_TRUE(filter);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t me = getpid();
  pid_t child = spawn_traced([&] {
    if (install_prepared(*filter) != 0) return 100;
    Report r;
    r.first = syscall(__NR_getppid); // the tracer detaches at this stop
    errno = 0;
    r.second = syscall(__NR_getppid);
    r.second_errno = errno;
    r.unnamed = syscall(__NR_getpid);
    return write(fds[1], &r, sizeof r) == sizeof r ? 0 : 102;
  });
  ASSERT_GT(child, 0);
  close(fds[1]);
  ASSERT_EQ(WSTOPSIG(wait_stop(child)), SIGSTOP);
  ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, kOptions), 0);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  int status = wait_stop(child);
  ASSERT_EQ(status >> 8, kSeccompStop);
  // The filter is in place and cannot be taken out again.
  EXPECT_EQ(status_field(child, "Seccomp"), "2");
  EXPECT_EQ(status_field(child, "NoNewPrivs"), "1");
  ASSERT_EQ(ptrace(PTRACE_DETACH, child, nullptr, nullptr), 0);

  Report r;
  ASSERT_EQ(read(fds[0], &r, sizeof r), static_cast<ssize_t>(sizeof r));
  close(fds[0]);
  status = wait_stop(child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(r.first, me);
  EXPECT_EQ(r.second, -1);
  EXPECT_EQ(r.second_errno, ENOSYS);
  EXPECT_EQ(r.unnamed, child);
}

// Attached but without PTRACE_O_TRACESECCOMP is the same as not attached:
// ENOSYS, and the tracer sees no stop at all.
TEST(SeccompPtrace, WithoutTraceSeccompOptionNamedCallsFailWithEnosys) {
  auto filter = prepare({__NR_getppid});
  ASSERT_TRUE(filter);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = spawn_traced([&] {
    if (install_prepared(*filter) != 0) return 100;
    Report r;
    errno = 0;
    r.second = syscall(__NR_getppid);
    r.second_errno = errno;
    return write(fds[1], &r, sizeof r) == sizeof r ? 0 : 102;
  });
  ASSERT_GT(child, 0);
  close(fds[1]);
  ASSERT_EQ(WSTOPSIG(wait_stop(child)), SIGSTOP);
  ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL),
            0);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  int status = wait_stop(child);
  EXPECT_TRUE(WIFEXITED(status)) << "unexpected stop, status 0x" << std::hex << status;
  Report r;
  ASSERT_EQ(read(fds[0], &r, sizeof r), static_cast<ssize_t>(sizeof r));
  close(fds[0]);
  EXPECT_EQ(r.second, -1);
  EXPECT_EQ(r.second_errno, ENOSYS);
}

// The filter is inherited across fork (and kept across execve): a
// descendant the tracer does not follow gets ENOSYS from every named call.
// Hence launch mode's PTRACE_O_TRACEFORK/VFORK/CLONE.
TEST(SeccompPtrace, UnfollowedChildrenInheritTheFilterAndGetEnosys) {
  auto filter = prepare({__NR_getppid});
  ASSERT_TRUE(filter);
  pid_t child = spawn_traced([&] {
    if (install_prepared(*filter) != 0) return 100;
    pid_t grandchild = fork();
    if (grandchild == 0) {
      errno = 0;
      long r = syscall(__NR_getppid);
      _exit(r == -1 && errno == ENOSYS ? 7 : 8);
    }
    int st = 0;
    if (waitpid(grandchild, &st, 0) != grandchild || !WIFEXITED(st)) return 103;
    return WEXITSTATUS(st);
  });
  ASSERT_GT(child, 0);
  ASSERT_EQ(WSTOPSIG(wait_stop(child)), SIGSTOP);
  ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, kOptions), 0); // no TRACEFORK
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  int status = wait_stop(child);
  // The only stop: SIGCHLD when the grandchild exits, delivered on.
  ASSERT_TRUE(WIFSTOPPED(status));
  ASSERT_EQ(status >> 8, SIGCHLD);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, SIGCHLD), 0);
  status = wait_stop(child);
  ASSERT_TRUE(WIFEXITED(status)) << "unexpected stop, status 0x" << std::hex << status;
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

// With PTRACE_O_TRACEFORK the new child is traced from birth with the same
// options, and its named calls stop like the parent's.
TEST(SeccompPtrace, FollowedChildrenStop) {
  auto filter = prepare({__NR_getppid});
  ASSERT_TRUE(filter);
  pid_t child = spawn_traced([&] {
    if (install_prepared(*filter) != 0) return 100;
    pid_t grandchild = fork();
    if (grandchild == 0) _exit(syscall(__NR_getppid) == getppid() ? 0 : 9);
    int st = 0;
    if (waitpid(grandchild, &st, 0) != grandchild || !WIFEXITED(st)) return 103;
    return WEXITSTATUS(st);
  });
  ASSERT_GT(child, 0);
  ASSERT_EQ(WSTOPSIG(wait_stop(child)), SIGSTOP);
  ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, kOptions | PTRACE_O_TRACEFORK), 0);
  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  pid_t grandchild = 0;
  int grandchild_seccomp_stops = 0;
  bool child_exited = false;
  while (!child_exited) {
    int status = 0;
    pid_t who = waitpid(-1, &status, __WALL);
    ASSERT_GT(who, 0);
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (who == child) {
        child_exited = true;
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0);
      }
      continue;
    }
    if ((status >> 8) == (SIGTRAP | (PTRACE_EVENT_FORK << 8))) {
      unsigned long msg = 0;
      ASSERT_EQ(ptrace(PTRACE_GETEVENTMSG, who, nullptr, &msg), 0);
      grandchild = static_cast<pid_t>(msg);
    } else if ((status >> 8) == kSeccompStop) {
      EXPECT_EQ(entry_args(regs_of(who)).nr, __NR_getppid);
      EXPECT_NE(who, child);
      ++grandchild_seccomp_stops;
    }
    // Deliver plain signals (SIGCHLD); suppress the new child's initial
    // SIGSTOP and the event stops.
    int sig = WSTOPSIG(status);
    bool deliver = (status >> 16) == 0 && sig != SIGSTOP && sig != SIGTRAP;
    ASSERT_EQ(ptrace(PTRACE_CONT, who, nullptr, deliver ? sig : 0), 0);
  }
  EXPECT_GT(grandchild, 0);
  EXPECT_EQ(grandchild_seccomp_stops, 2); // getppid() through libc is a real call too
}

// Attach mode: a running process gets the filter through its own system
// calls, made by the tracer. Here the tracer turns two getpid calls of the
// child into prctl(NO_NEW_PRIVS) and seccomp(SET_MODE_FILTER, TSYNC, addr)
// at their syscall-entry stops (the engine would use its remote-syscall
// helper instead), with remote_image() written at addr beforehand.
TEST(SeccompPtrace, RemoteImageInstallsInARunningProcess) {
  auto filter = prepare({__NR_getppid});
  ASSERT_TRUE(filter);
  // Same address in the child after fork.
  alignas(16) static uint8_t scratch[4096];
  const uint64_t addr = reinterpret_cast<uint64_t>(scratch);
  const pid_t me = getpid();
  pid_t child = spawn_traced([&] {
    syscall(__NR_getpid); // becomes prctl
    syscall(__NR_getpid); // becomes seccomp
    for (int i = 0; i < 3; ++i) {
      if (syscall(__NR_getppid) != me) return 101;
    }
    return 0;
  });
  ASSERT_GT(child, 0);
  ASSERT_EQ(WSTOPSIG(wait_stop(child)), SIGSTOP);
  ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, kOptions), 0);
  EXPECT_EQ(status_field(child, "Seccomp"), "0");

  std::vector<uint8_t> image = remote_image(*filter, addr);
  ASSERT_LE(image.size(), sizeof scratch);
  iovec local{image.data(), image.size()};
  iovec remote{scratch, image.size()};
  ASSERT_EQ(process_vm_writev(child, &local, 1, &remote, 1, 0), static_cast<ssize_t>(image.size()));

  auto remote_call = [&](long nr, uint64_t a0, uint64_t a1, uint64_t a2) -> int64_t {
    EXPECT_EQ(ptrace(PTRACE_SYSCALL, child, nullptr, nullptr), 0);
    int st = wait_stop(child);
    EXPECT_EQ(WSTOPSIG(st), kSyscallStop); // entry of the child's getpid
    user_regs_struct regs = regs_of(child);
    EXPECT_EQ(static_cast<long>(regs.orig_rax), __NR_getpid);
    regs.orig_rax = static_cast<uint64_t>(nr);
    regs.rdi = a0;
    regs.rsi = a1;
    regs.rdx = a2;
    regs.r10 = regs.r8 = regs.r9 = 0;
    EXPECT_EQ(ptrace(PTRACE_SETREGS, child, nullptr, &regs), 0);
    EXPECT_EQ(ptrace(PTRACE_SYSCALL, child, nullptr, nullptr), 0);
    st = wait_stop(child);
    EXPECT_EQ(WSTOPSIG(st), kSyscallStop); // exit
    return static_cast<int64_t>(regs_of(child).rax);
  };
  EXPECT_EQ(remote_call(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0), 0);
  EXPECT_EQ(remote_call(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, addr), 0);
  EXPECT_EQ(status_field(child, "Seccomp"), "2");
  EXPECT_EQ(status_field(child, "NoNewPrivs"), "1");

  ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  int seccomp_stops = 0;
  int status = 0;
  while (true) {
    status = wait_stop(child);
    ASSERT_NE(status, -1);
    if (!WIFSTOPPED(status)) break;
    ASSERT_EQ(status >> 8, kSeccompStop);
    EXPECT_EQ(entry_args(regs_of(child)).nr, __NR_getppid);
    ++seccomp_stops;
    ASSERT_EQ(ptrace(PTRACE_CONT, child, nullptr, nullptr), 0);
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(seccomp_stops, 3);
}

} // namespace
} // namespace probekit::syscalls
