// End-to-end: the kernel's tracepoints, system-wide (issue 11). They need
// root (or CAP_PERFMON) and tracefs; CI runs as root, where probekit mounts
// tracefs itself if it is not mounted. Without root the tests that need
// events skip, and the error test runs probekit as `nobody`.
#include <fcntl.h>
#include <signal.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <regex>
#include <thread>

#include "harness.h"

using namespace probekit::testing;

namespace {

bool is_root() { return geteuid() == 0; }

std::string temp_path(const std::string& tag) {
  return "/tmp/pk_kernel_" + tag + "_" + std::to_string(getpid()) + ".out";
}

// Waits until `path` holds `needle` (probekit printed it from BEGIN, so its
// events are open), or the process ended, or 30 s passed.
bool wait_for_text(const std::string& path, const std::string& needle, pid_t pid) {
  for (int i = 0; i < 3000; ++i) {
    if (read_file(path).find(needle) != std::string::npos) return true;
    if (!alive(pid)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// argv run as uid/gid 65534 (nobody), stdout and stderr captured.
RunResult run_as_nobody(const std::vector<std::string>& argv) {
  std::string out = temp_path("nobody_out"), err = temp_path("nobody_err");
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(126);
    std::vector<char*> v;
    for (const auto& a : argv) v.push_back(const_cast<char*>(a.c_str()));
    v.push_back(nullptr);
    execv(v[0], v.data());
    _exit(127);
  }
  RunResult r;
  r.status = wait_exit(pid, 60);
  r.out = read_file(out);
  r.err = read_file(err);
  unlink(out.c_str());
  unlink(err.c_str());
  return r;
}

// A child that exists, blocked, before probekit starts (so its pid is
// known), and runs `body` then exits once released.
struct HeldChild {
  pid_t pid = -1;
  int go = -1;
  explicit HeldChild(const std::function<void()>& body) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid = fork();
    if (pid == 0) {
      close(fds[1]);
      char c;
      if (read(fds[0], &c, 1) != 1) _exit(1);
      body();
      _exit(0);
    }
    close(fds[0]);
    go = fds[1];
  }
  bool release() {
    const bool ok = write(go, "x", 1) == 1;
    close(go);
    go = -1;
    return ok;
  }
  ~HeldChild() {
    if (go >= 0) close(go);
  }
};

}  // namespace

// The seed's do_execve kprobe, as tracepoint-backed DTrace: every exec on
// the machine. A known command is run once probekit is ready; its line is
// exact (pid, the new execname, the file name).
TEST(KernelCli, ExecSuccessPrintsEveryExecOnTheMachine) {
  if (!is_root()) GTEST_SKIP() << "kernel tracepoints need root or CAP_PERFMON; this test runs as uid " << geteuid();
  // The child exists (blocked) before probekit starts, so the program can
  // end at its exec whatever else runs on the machine meanwhile.
  HeldChild held([&] {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      execl("/bin/echo", "echo", "hello", static_cast<char*>(nullptr));
      _exit(127);
  });
  ASSERT_GT(held.pid, 0);
  const pid_t child = held.pid;
  std::string out = temp_path("exec");
  pid_t pk = spawn({probekit_path(), "-q", "-n",
                    "BEGIN { printf(\"ready\\n\"); } "
                    "proc:::exec-success { printf(\"|pid: %6d |comm: %10s |filename = %s|\\n\", pid, execname, "
                    "args->filename); } "
                    "proc:::exec-success /pid == " + std::to_string(child) + "/ { exit(0); }"},
                   out);
  bool ready = wait_for_text(out, "ready\n", pk);
  ASSERT_TRUE(held.release());
  int st = 0;
  waitpid(child, &st, 0);
  ASSERT_TRUE(ready) << read_file(out);
  EXPECT_EQ(wait_exit(pk, 30), 0);
  std::string text = read_file(out);
  unlink(out.c_str());
  char expected[128];
  std::snprintf(expected, sizeof expected, "|pid: %6d |comm: %10s |filename = %s|\n", child, "echo", "/bin/echo");
  EXPECT_NE(text.find(expected), std::string::npos) << text;
}

// With -c the tracepoints are system-wide too; a predicate on $target
// keeps the command's own exec, which happens before the command is
// traced: the events are open before it starts.
TEST(KernelCli, ExecSuccessSeesTheCommandsOwnExec) {
  if (!is_root()) GTEST_SKIP() << "kernel tracepoints need root or CAP_PERFMON";
  auto r = run({probekit_path(), "-q", "-n",
                "proc:::exec-success /pid == $target/ { printf(\"%s %s %d\\n\", execname, args->filename, "
                "args->pid == pid); }",
                "-c", "/bin/true"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "true /bin/true 1\n\n");  // then the blank line when tracing stops
}

// ppid of a system-wide event: the shell system() starts writes once and
// exits long before its event is read from the ring, so /proc has no
// parent for it by then; the kernel's FORK record said it (probekit's own
// pid is $pid, the shell's parent). Without it ppid was 0 and this waited
// forever (dtrace-utils' funcs/tst.inet_ntoa_alloca.d).
TEST(KernelCli, PpidOfAShortLivedChildComesFromItsForkRecord) {
  if (!is_root()) GTEST_SKIP() << "kernel tracepoints need root or CAP_PERFMON";
  auto r = run({probekit_path(), "-q", "-w", "-n",
                "BEGIN { system(\"echo child-wrote > /dev/null\"); } "
                "syscall::write:entry /ppid == $pid/ { printf(\"%s %d\\n\", execname, arg2); exit(0); } "
                "tick-20s { printf(\"no write with ppid $pid\\n\"); exit(1); }"},
               30);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "sh 12\n\n");  // the shell's 12-byte write, then the blank line when tracing stops
}

// proc:::create and proc:::exit of a known command (the shell forks once
// for /bin/true, then exits 3), and sched:::off-cpu for it: the fields and
// execname of each, in the order they happened.
TEST(KernelCli, ProcCreateExitAndOffCpuOfACommand) {
  if (!is_root()) GTEST_SKIP() << "kernel tracepoints need root or CAP_PERFMON";
  auto r = run({probekit_path(), "-q", "-n",
                "proc:::create /args->parent_pid == $target/ { printf(\"create %s %d\\n\", args->child_comm, "
                "args->child_pid != $target); } "
                "proc:::exit /pid == $target/ { printf(\"exit %s %d\\n\", execname, args->pid == $target); } "
                "sched:::off-cpu /pid == $target/ { @off = count(); } "
                "END { printa(\"off %@d\\n\", @off); }",
                "-c", "/bin/sh -c '/bin/true; exit 3'"});
  ASSERT_EQ(r.status, 0) << r.err;
  // The shell waits for its child: it leaves the CPU at least once.
  EXPECT_TRUE(std::regex_match(r.out, std::regex("create sh 1\nexit sh 1\noff [1-9][0-9]*\n\n"))) << r.out;
}

// syscall::: without -c/-p: every process (named calls from their own
// syscalls:sys_enter_NAME tracepoints), and raw_syscalls for a glob. A child
// makes exactly 1000 getppid calls after probekit is ready; the counts by
// probefunc for its pid are exact, entries and returns.
TEST(KernelCli, SystemWideSyscallsCountAKnownChildsCalls) {
  if (!is_root()) GTEST_SKIP() << "kernel tracepoints need root or CAP_PERFMON";
  HeldChild held([&] {
      for (int i = 0; i < 1000; ++i) syscall(SYS_getppid);
      _exit(0);
  });
  ASSERT_GT(held.pid, 0);
  const pid_t child = held.pid;
  std::string out = temp_path("sys");
  std::string p = std::to_string(child);
  pid_t pk = spawn({probekit_path(), "-q", "-n",
                    "BEGIN { printf(\"ready\\n\"); } "
                    "syscall::getppid:entry /pid == " + p + "/ { @[probefunc, probename] = count(); } "
                    "syscall::getppid:return /pid == " + p + " && arg0 == " + std::to_string(getpid()) +
                        "/ { @[probefunc, probename] = count(); } "
                    "syscall::exit_group:entry /pid == " + p + "/ { exit(0); }"},
                   out);
  bool ready = wait_for_text(out, "ready\n", pk);
  ASSERT_TRUE(held.release());
  int st = 0;
  waitpid(child, &st, 0);
  ASSERT_TRUE(ready) << read_file(out);
  EXPECT_EQ(wait_exit(pk, 30), 0);
  std::string text = read_file(out);
  unlink(out.c_str());
  std::regex entry(R"(getppid\s+entry\s+1000\n)"), ret(R"(getppid\s+return\s+1000\n)");
  EXPECT_TRUE(std::regex_search(text, entry)) << text;
  EXPECT_TRUE(std::regex_search(text, ret)) << text;
}

// A one-page ring (-x bufsize=4k) cannot hold 200,000 calls made as
// fast as the child can: what the kernel loses is reported as drops, and
// the calls counted plus the drops account for every call (the counts
// printed never exceed the calls; drops may include other processes').
TEST(KernelCli, LostEventsAreReportedAsDrops) {
  if (!is_root()) GTEST_SKIP() << "kernel tracepoints need root or CAP_PERFMON";
  constexpr int kCalls = 200000;
  HeldChild held([&] {
      for (int i = 0; i < kCalls; ++i) syscall(SYS_getppid);
      _exit(0);
  });
  ASSERT_GT(held.pid, 0);
  const pid_t child = held.pid;
  std::string out = temp_path("drops"), err = temp_path("drops_err");
  std::string p = std::to_string(child);
  pid_t pk = fork();
  if (pk == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    // syscall:::entry (every call: raw_syscalls), the child's getppid counted.
    std::string prog = "BEGIN { printf(\"ready\\n\"); } syscall:::entry /pid == " + p +
                       " && probefunc == \"getppid\"/ { @n = count(); } END { printa(\"calls %@d\\n\", @n); }";
    execl(probekit_path().c_str(), probekit_path().c_str(), "-q", "-x", "bufsize=4k", "-n", prog.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  bool ready = wait_for_text(out, "ready\n", pk);
  ASSERT_TRUE(held.release());
  int st = 0;
  waitpid(child, &st, 0);
  ASSERT_TRUE(ready) << read_file(out) << read_file(err);
  // The child's samples are all in the rings (or lost) once it has exited,
  // but the kernel writes a ring's last count of lost events only with the
  // next event that fits (probekit's own system calls, once it has caught
  // up): give that a moment. Then Ctrl-C drains what the rings hold, and END
  // prints.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pk, SIGINT);
  int status = wait_exit(pk, 60);
  std::string text = read_file(out), errors = read_file(err);
  unlink(out.c_str());
  unlink(err.c_str());
  ASSERT_EQ(status, 0) << errors;
  std::smatch m;
  uint64_t counted = std::regex_search(text, m, std::regex(R"(calls (\d+)\n)")) ? std::stoull(m[1]) : 0;
  uint64_t drops = 0;
  std::regex drop(R"(probekit: (\d+) drops? on CPU \d+\n)");
  for (auto it = std::sregex_iterator(errors.begin(), errors.end(), drop); it != std::sregex_iterator(); ++it)
    drops += std::stoull((*it)[1]);
  EXPECT_LE(counted, static_cast<uint64_t>(kCalls)) << text;
  EXPECT_GE(counted + drops, static_cast<uint64_t>(kCalls)) << text << errors;
}

TEST(KernelCli, ListsTracepointsAndStableNames) {
  if (!is_root()) GTEST_SKIP() << "listing tracepoints reads tracefs, which needs root";
  auto r = run({probekit_path(), "-l", "-n", "tracepoint:sched:*"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::regex exec(R"(\n\s+\d+\s+tracepoint\s+sched\s+sched_process_exec \n)");
  EXPECT_TRUE(std::regex_search(r.out, exec)) << r.out;
  EXPECT_EQ(count_lines(r.out, " tracepoint "), count_lines(r.out, " sched "));
  EXPECT_EQ(r.out.find("raw_syscalls"), std::string::npos);
  auto v = run({probekit_path(), "-l", "-v", "-n", "tracepoint:sched:sched_process_exec"});
  ASSERT_EQ(v.status, 0) << v.err;
  EXPECT_NE(v.out.find("\n\tArgument Types\n\t\targs->filename: __data_loc char[]\n\t\targs->pid: pid_t\n"
                       "\t\targs->old_pid: pid_t\n\n"),
            std::string::npos)
      << v.out;
  auto p = run({probekit_path(), "-l", "-n", "proc:::"});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(count_lines(p.out, " proc "), 3u) << p.out;
  EXPECT_NE(p.out.find(" exec-success\n"), std::string::npos) << p.out;
}

TEST(KernelCli, UnknownTracepointFieldIsAProgramError) {
  if (!is_root()) GTEST_SKIP() << "field types come from tracefs, which needs root";
  auto r = run({probekit_path(), "-n", "proc:::exec-success { trace(args->nope); }"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("no field 'nope' in tracepoint sched:sched_process_exec; its fields: "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("filename"), std::string::npos) << r.err;
  auto t = run({probekit_path(), "-n", "tracepoint:nosuch:event { }"});
  EXPECT_EQ(t.status, 1) << t.err;
  EXPECT_NE(t.err.find("'tracepoint:nosuch:event' does not match any probes"), std::string::npos) << t.err;
}

TEST(KernelCli, WithoutRightsSaysWhatIsNeeded) {
  if (!is_root()) GTEST_SKIP() << "switching to nobody needs root";
  auto r = run_as_nobody({probekit_path(), "-n", "proc:::exec-success { trace(pid); }"});
  ASSERT_NE(r.status, 126) << "setuid(nobody) failed";
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("probekit: error: kernel tracepoints need root or CAP_PERFMON"), std::string::npos) << r.err;
}

TEST(KernelCli, WithoutTracefsSaysWhere) {
  if (!is_root()) GTEST_SKIP() << "without root the rights are missing first";
  setenv("PROBEKIT_TRACEFS", "/tmp", 1);
  auto r = run({probekit_path(), "-n", "proc:::exec-success { trace(pid); }"});
  unsetenv("PROBEKIT_TRACEFS");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("error: tracefs is not mounted at /tmp"), std::string::npos) << r.err;
}

namespace {
bool kernel_has_kprobes() {
  return access("/sys/bus/event_source/devices/kprobe", F_OK) == 0 ||
         access("/sys/kernel/tracing/kprobe_events", F_OK) == 0 ||
         access("/sys/kernel/debug/tracing/kprobe_events", F_OK) == 0;
}
}  // namespace

TEST(KernelCli, KprobesNameTheMissingKernelSupport) {
  if (kernel_has_kprobes()) GTEST_SKIP() << "this kernel has kprobes (KprobesCountAKnownChildsCalls covers them)";
  if (!is_root()) GTEST_SKIP() << "kernel probes need root or CAP_PERFMON";
  for (const char* desc : {"kprobe:do_execve { }", "fbt::do_execve:entry { }"}) {
    auto r = run({probekit_path(), "-n", desc});
    EXPECT_EQ(r.status, 1) << desc << ": " << r.err;
    EXPECT_NE(r.err.find("this kernel was built without CONFIG_KPROBES"), std::string::npos) << r.err;
  }
}

// Where the kernel has kprobes: kprobe:FUNC and fbt::FUNC:return on the
// getppid system call's kernel function, for a child making exactly 100
// calls; the dynamic events are gone from kprobe_events afterwards.
TEST(KernelCli, KprobesCountAKnownChildsCalls) {
  if (!kernel_has_kprobes())
    GTEST_SKIP() << "this kernel was built without CONFIG_KPROBES (no kprobe_events, no perf kprobe PMU)";
  if (!is_root()) GTEST_SKIP() << "kernel probes need root or CAP_PERFMON";
  HeldChild held([&] {
      for (int i = 0; i < 100; ++i) syscall(SYS_getppid);
      _exit(0);
  });
  ASSERT_GT(held.pid, 0);
  const pid_t child = held.pid;
  std::string out = temp_path("kprobe");
  std::string p = std::to_string(child);
  pid_t pk = spawn({probekit_path(), "-q", "-n",
                    "BEGIN { printf(\"ready\\n\"); } "
                    "kprobe:__x64_sys_getppid /pid == " + p + "/ { @[\"entry\"] = count(); } "
                    "fbt::__x64_sys_getppid:return /pid == " + p + "/ { @[probename] = count(); }"},
                   out);
  bool ready = wait_for_text(out, "ready\n", pk);
  ASSERT_TRUE(held.release());
  int st = 0;
  waitpid(child, &st, 0);
  ASSERT_TRUE(ready) << read_file(out);
  kill(pk, SIGINT);
  EXPECT_EQ(wait_exit(pk, 30), 0);
  std::string text = read_file(out);
  unlink(out.c_str());
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(entry\s+100\n)"))) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(return\s+100\n)"))) << text;
  EXPECT_EQ(read_file("/sys/kernel/tracing/kprobe_events").find("probekit_" + std::to_string(pk)), std::string::npos);
}

// profile-N with no -c/-p samples every CPU (issue 10), as dtrace's
// profile provider does: a CPU-clock sampler per CPU. A child spinning in
// user mode (pk_spin-pie-O2 1 hot) is among the execnames, with user PCs in arg1
// and arg0 0 there; no sample has both PCs; @[cpu] keys are online CPUs and
// add up to the total; the rate is sane: more than none, and under 4x what
// 997 Hz on every CPU gives over the span the samples cover (no timing
// assertion: the bound is wide and the span is the samples' own).
TEST(KernelCli, ProfileWithoutATargetSamplesEveryCpu) {
  if (!is_root())
    GTEST_SKIP() << "sampling every CPU needs root or CAP_PERFMON (or kernel.perf_event_paranoid <= 0)";
  pid_t spin = spawn({target_path("pk_spin-pie-O2"), "1", "hot"}, "/dev/null");
  ASSERT_GT(spin, 0);
  auto r = run({probekit_path(), "-q", "-n",
                "profile-997 { @exec[execname] = count(); @cpus[cpu] = count(); @total = count(); "
                "@first = min(timestamp); @last = max(timestamp); } "
                "profile-997 /execname == \"pk_spin-pie-O2\" && arg1 != 0 && arg0 == 0/ { @user = count(); } "
                "profile-997 /arg0 != 0 && arg1 != 0/ { @both = count(); } "
                "tick-1s { exit(0); } "
                "END { printa(\"exec %s %@d\\n\", @exec); printa(\"cpu %d %@d\\n\", @cpus); "
                "printa(\"total %@d\\n\", @total); printa(\"first %@d\\n\", @first); printa(\"last %@d\\n\", @last); "
                "printa(\"user %@d\\n\", @user); printa(\"both %@d\\n\", @both); }"},
               60);
  kill(spin, SIGKILL);
  waitpid(spin, nullptr, 0);
  ASSERT_EQ(r.status, 0) << r.err;
  std::smatch m;
  auto number = [&](const std::string& what) -> long long {
    return std::regex_search(r.out, m, std::regex("\n?" + what + " (\\d+)\n")) ? std::stoll(m[1]) : -1;
  };
  const long long total = number("total"), first = number("first"), last = number("last");
  ASSERT_GT(total, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(exec pk_spin-pie-O2 [1-9]\d*\n)"))) << r.out;
  EXPECT_GT(number("user"), 0) << r.out;
  EXPECT_EQ(r.out.find("both"), std::string::npos) << r.out;  // an aggregation never added to prints nothing
  long long by_cpu = 0;
  const long long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  std::regex cpu_line(R"(cpu (\d+) (\d+)\n)");
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), cpu_line); it != std::sregex_iterator(); ++it) {
    EXPECT_LT(std::stoll((*it)[1]), ncpu) << r.out;
    by_cpu += std::stoll((*it)[2]);
  }
  EXPECT_EQ(by_cpu, total) << r.out;
  const double span_s = static_cast<double>(last - first) / 1e9 + 0.01;
  EXPECT_LT(static_cast<double>(total), 4.0 * 997 * static_cast<double>(ncpu) * span_s) << r.out;
}

// tick-N with no -c/-p is dtrace-utils' too: a CPU-clock sampler on one
// CPU (0 here), firing in whatever runs there, so pid and execname are that
// process's (the idle task's 0 when the CPU is idle) and exactly one of
// arg0 (a kernel PC) and arg1 (a user PC) is set (profile-n/tst.argtest.d).
// It was a timer in probekit: cpu and both PCs 0, pid probekit's own.
TEST(KernelCli, TickWithoutATargetSamplesOneCpu) {
  if (!is_root()) GTEST_SKIP() << "sampling a CPU needs root or CAP_PERFMON (tick-N is then a timer in probekit)";
  auto r = run({probekit_path(), "-q", "-n",
                "tick-100hz /i++ < 20/ { @pcs[(arg0 != 0) + (arg1 != 0)] = count(); @cpus[cpu] = count(); "
                "} tick-100hz /i > 20/ { exit(0); } "
                "END { printa(\"pcs %d %@d\\n\", @pcs); printa(\"cpu %d %@d\\n\", @cpus); "
                "}"},
               30);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("pcs 1 20\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu 0 20\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pcs 0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pcs 2"), std::string::npos) << r.out;
}

// Where the host does not allow it, profile-N with no target says why and
// what to do, and exits 1 (never a crash); tick-N alone needs nothing.
TEST(KernelCli, ProfileWithoutATargetOrRightsSaysWhatToDo) {
  if (!is_root()) GTEST_SKIP() << "switching to nobody needs root";
  auto paranoid = read_file("/proc/sys/kernel/perf_event_paranoid");
  if (paranoid.empty() || std::stoi(paranoid) <= 0)
    GTEST_SKIP() << "kernel.perf_event_paranoid <= 0 lets anyone sample every CPU";
  auto r = run_as_nobody({probekit_path(), "-n", "profile-97 { @ = count(); }"});
  ASSERT_NE(r.status, 126) << "setuid(nobody) failed";
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("probekit: error: probe description 'profile-97' with no -p/-c samples the whole system: "
                       "sampling every CPU needs root or CAP_PERFMON, or kernel.perf_event_paranoid at 0 or below "
                       "(it is " + paranoid.substr(0, paranoid.find('\n')) + ")"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("sample one process with -p PID or -c 'CMD ARGS'"), std::string::npos) << r.err;
  auto t = run_as_nobody({probekit_path(), "-q", "-n", "tick-1ms { exit(0); } END { printf(\"ticked\\n\"); }"});
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.out, "ticked\n\n");  // END, then the blank line when tracing stops
}
