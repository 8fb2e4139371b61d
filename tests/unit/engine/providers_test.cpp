// Syscall probes (seccomp filter for launched targets, PTRACE_SYSCALL for
// attached ones), profile sampling and timers, through the C++ API against
// tests/targets/pk_syscalls.c.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>

#include "launch_support.h"
#include "probekit/probekit.h"
#include "util/fd.h"

namespace probekit {
namespace {

using namespace probekit::testing;

std::string target(const std::string& build) { return probekit::testing::target("pk_syscalls", build); }


// Entries and returns of one probe, with what the tests look at.
struct Seen {
  int entries = 0;
  int returns = 0;
  std::map<int64_t, int> retvals;  // retval -> count
  std::set<int> errnos;
  std::set<int> tids;
  std::set<int> pids;
  std::map<int, int> pid_retval;   // pid -> last retval
};

SyscallProbe recording(std::vector<int> nrs, Seen* seen) {
  SyscallProbe p;
  p.numbers = std::move(nrs);
  p.entry_handler = [seen](HitContext& ctx, const SyscallEvent& ev) {
    EXPECT_FALSE(ev.is_return);
    EXPECT_EQ(static_cast<int>(ctx.regs().orig_rax), ev.nr);
    seen->entries++;
    seen->tids.insert(ctx.tid());
    seen->pids.insert(ctx.pid());
  };
  p.return_handler = [seen](HitContext& ctx, const SyscallEvent& ev) {
    EXPECT_TRUE(ev.is_return);
    seen->returns++;
    seen->retvals[ev.retval]++;
    seen->errnos.insert(ev.errno_value);
    seen->pid_retval[ctx.pid()] = ev.retval;
  };
  return p;
}

const std::string kCountOutput = "getppid same 6 getpid same 1000 open -1 errno ENOENT work 28\n";

class Builds : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Providers, Builds, ::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"));

TEST_P(Builds, FilterStopsOnlyTheNamedCall) {
  std::vector<std::string> argv = {target(GetParam()), "count"};
  ASSERT_EQ(run_plain(argv), kCountOutput);
  LaunchOptions opts;
  opts.trace_syscalls = {SYS_getppid};
  auto t = launch(argv, opts);
  ASSERT_TRUE(t.session);
  Seen seen;
  SyscallProbe p = recording({SYS_getppid}, &seen);
  std::string name;
  p.entry_handler = [&, inner = p.entry_handler](HitContext& ctx, const SyscallEvent& ev) {
    name = ctx.site().symbol;
    inner(ctx, ev);
  };
  auto id = t.session->add_syscall_probe(p);
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(seen.entries, 7);
  EXPECT_EQ(seen.returns, 7);
  EXPECT_EQ(name, "getppid");
  // The launched program's parent is this test process.
  EXPECT_EQ(seen.retvals, (std::map<int64_t, int>{{::getpid(), 7}}));
  EXPECT_EQ(seen.errnos, std::set<int>{0});
  EXPECT_EQ(t.session->stats(*id).hits, 14u);
  EXPECT_EQ(t.session->stats(*id).sites, 1u);
  // 7 seccomp entries + 7 exit stops; the 1000 getpid calls cost nothing.
  EXPECT_EQ(t.session->syscall_stop_count(), 14u);
  EXPECT_EQ(t.output(), kCountOutput);
}

TEST_P(Builds, FailingCallReportsMinusOneAndErrno) {
  std::vector<std::string> argv = {target(GetParam()), "count"};
  LaunchOptions opts;
  opts.trace_syscalls = {SYS_openat};
  auto t = launch(argv, opts);
  ASSERT_TRUE(t.session);
  std::map<int, std::string> path_of;  // tid -> path at entry
  int missing_entries = 0;
  std::vector<std::pair<int64_t, int>> missing_returns;
  int other_returns = 0;
  SyscallProbe p;
  p.numbers = {SYS_openat};
  p.entry_handler = [&](HitContext& ctx, const SyscallEvent& ev) {
    path_of[ctx.tid()] = ctx.read_string(ev.args[1]).value_or("?");
    if (path_of[ctx.tid()] == "/nonexistent-pk-dir/missing-file") missing_entries++;
  };
  p.return_handler = [&](HitContext& ctx, const SyscallEvent& ev) {
    if (path_of[ctx.tid()] == "/nonexistent-pk-dir/missing-file") {
      missing_returns.push_back({ev.retval, ev.errno_value});
      EXPECT_EQ(static_cast<int64_t>(ctx.regs().rax), -ENOENT);  // the raw kernel value
    } else {
      other_returns++;
      EXPECT_GE(ev.retval, 0) << path_of[ctx.tid()];  // ld.so opening libc
    }
  };
  ASSERT_TRUE(t.session->add_syscall_probe(p).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(missing_entries, 1);
  EXPECT_EQ(missing_returns, (std::vector<std::pair<int64_t, int>>{{-1, ENOENT}}));
  EXPECT_GE(other_returns, 1);
  EXPECT_EQ(t.output(), kCountOutput);
}

// Interleaved getppid and work(): a thread resumed from an int3 must keep
// its syscall stops (filter mode: the seccomp stop comes anyway; tracer
// mode: it must continue with PTRACE_SYSCALL).
void syscall_and_breakpoint(const std::string& build, bool filter) {
  std::string in = temp_path("in");
  {
    Fd fd(::open(in.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    std::string text = "5\n3\n";
    ASSERT_EQ(::write(fd.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  LaunchOptions opts;
  opts.stdin_path = in;
  if (filter) opts.trace_syscalls = {SYS_getppid};
  auto t = launch({target(build), "stdin"}, opts);
  ASSERT_TRUE(t.session);
  Seen seen;
  ASSERT_TRUE(t.session->add_syscall_probe(recording({SYS_getppid}, &seen)).ok());
  auto works = add_counter(*t.session, "a.out:work");
  ASSERT_TRUE(works.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(seen.entries, 9);  // 1 + 5 + 3
  EXPECT_EQ(seen.returns, 9);
  EXPECT_EQ(seen.retvals, (std::map<int64_t, int>{{::getpid(), 9}}));
  EXPECT_EQ(works->load(), 8u);
  if (filter) {
    EXPECT_EQ(t.session->syscall_stop_count(), 18u);
  } else {
    EXPECT_GT(t.session->syscall_stop_count(), 18u + 2 * 8u);  // every call stops twice
  }
  EXPECT_EQ(t.output(), "done 5 ok 5\ndone 3 ok 3\n");
  ::unlink(in.c_str());
}

TEST_P(Builds, SyscallAndBreakpointProbesTogetherWithFilter) { syscall_and_breakpoint(GetParam(), true); }
TEST_P(Builds, SyscallAndBreakpointProbesTogetherWithoutFilter) { syscall_and_breakpoint(GetParam(), false); }

TEST_P(Builds, ForkedChildsCallsAreSeen) {
  std::vector<std::string> argv = {target(GetParam()), "fork"};
  ASSERT_EQ(run_plain(argv), "child ok 3\nparent child-status 0\n");
  LaunchOptions opts;
  opts.trace_syscalls = {SYS_getppid};
  opts.follow_forks = false;  // forced on: an untraced child would get ENOSYS
  auto t = launch(argv, opts);
  ASSERT_TRUE(t.session);
  Seen seen;
  std::map<int, int> per_pid;
  SyscallProbe p = recording({SYS_getppid}, &seen);
  p.entry_handler = [&, inner = p.entry_handler](HitContext& ctx, const SyscallEvent& ev) {
    per_pid[ctx.pid()]++;
    inner(ctx, ev);
  };
  ASSERT_TRUE(t.session->add_syscall_probe(p).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(seen.entries, 5);
  EXPECT_EQ(seen.returns, 5);
  ASSERT_EQ(per_pid.size(), 2u);
  pid_t parent = t.session->pid();
  EXPECT_EQ(per_pid[parent], 2);
  int child = 0;
  for (const auto& [pid, n] : per_pid) {
    if (pid != parent) child = pid;
  }
  EXPECT_EQ(per_pid[child], 3);
  EXPECT_EQ(seen.pid_retval[parent], ::getpid());
  EXPECT_EQ(seen.pid_retval[child], parent);  // the child's parent is the target
  EXPECT_EQ(t.output(), "child ok 3\nparent child-status 0\n");
}

// execve returns 0 at the exec event (the new image's setup may step past
// the exit stop) or -1 with errno through the normal exit stop.
void execs(const std::string& build, bool filter) {
  LaunchOptions opts;
  if (filter) opts.trace_syscalls = {SYS_execve};
  auto t = launch({target(build), "exec"}, opts);
  ASSERT_TRUE(t.session);
  Seen seen;
  std::vector<std::pair<int64_t, int>> results;
  SyscallProbe p = recording({SYS_execve}, &seen);
  p.return_handler = [&, inner = p.return_handler](HitContext& ctx, const SyscallEvent& ev) {
    results.push_back({ev.retval, ev.errno_value});
    inner(ctx, ev);
  };
  ASSERT_TRUE(t.session->add_syscall_probe(p).ok());
  int sleeps = 0;
  Probe nanosleep_probe;
  nanosleep_probe.where = Location::parse("libc.so.6:nanosleep").value();
  nanosleep_probe.pre_handler = [&](HitContext&) { sleeps++; };
  ASSERT_TRUE(t.session->add(nanosleep_probe).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(seen.entries, 2);
  EXPECT_EQ(results, (std::vector<std::pair<int64_t, int>>{{-1, ENOENT}, {0, 0}}));
  EXPECT_EQ(sleeps, 1);  // the probe was re-armed in the new image
  EXPECT_EQ(t.output(), "slept 1\n");
}

TEST_P(Builds, ExecveReturnsWithFilter) { execs(GetParam(), true); }
TEST_P(Builds, ExecveReturnsWithoutFilter) { execs(GetParam(), false); }

// Reads from fd until `want` is in the accumulated text (or 10 s pass),
// running the session (if any) meanwhile.
bool wait_for(int fd, std::string& acc, const std::string& want, Session* s) {
  for (int i = 0; i < 200 && acc.find(want) == std::string::npos; ++i) {
    if (s) {
      auto rc = s->run(0.05);
      if (!rc) return false;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, s ? 0 : 50) > 0) {
      char buf[256];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) acc.append(buf, static_cast<size_t>(n));
    }
  }
  return acc.find(want) != std::string::npos;
}

TEST_P(Builds, AttachedProcessExactCountsThenDetachLeavesNoEnosys) {
  int in[2], out[2];
  ASSERT_EQ(::pipe(in), 0);
  ASSERT_EQ(::pipe(out), 0);
  std::string path = target(GetParam());
  pid_t child = ::fork();
  if (child == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::close(in[1]);
    ::close(out[0]);
    ::execl(path.c_str(), path.c_str(), "stdin", (char*)nullptr);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  std::string acc;
  ASSERT_EQ(::write(in[1], "1\n", 2), 2);
  ASSERT_TRUE(wait_for(out[0], acc, "done 1 ok 1\n", nullptr)) << acc;  // started, blocked in read()
  Seen seen;
  {
    auto s = Session::attach(child, test_options());
    ASSERT_TRUE(s.ok()) << s.error().message();
    auto id = (*s)->add_syscall_probe(recording({SYS_getppid}, &seen));
    ASSERT_TRUE(id.ok()) << id.error().message();
    auto works = add_counter(**s, "a.out:work");
    ASSERT_TRUE(works.ok());
    ASSERT_EQ(::write(in[1], "5\n", 2), 2);
    ASSERT_TRUE(wait_for(out[0], acc, "done 5 ok 5\n", s->get())) << acc;
    EXPECT_EQ(seen.entries, 5);
    EXPECT_EQ(seen.returns, 5);
    EXPECT_EQ(seen.retvals, (std::map<int64_t, int>{{::getpid(), 5}}));
    EXPECT_EQ(works->load(), 5u);
    // Tracer mode: the read/write calls stopped too (two stops each).
    EXPECT_GE((*s)->syscall_stop_count(), 10u + 2 * 2u);
    ASSERT_TRUE((*s)->detach().ok());
  }
  // No filter was left behind: getppid still works, untraced.
  ASSERT_EQ(::write(in[1], "4\n", 2), 2);
  EXPECT_TRUE(wait_for(out[0], acc, "done 4 ok 4\n", nullptr)) << acc;
  EXPECT_EQ(seen.entries, 5);
  ::close(in[1]);
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  ::close(out[0]);
}

// Sleeps cut by sampling interrupts are restarted by the kernel (through
// restart_syscall): each sleep is one entry and one return of 0.
void interrupted_sleeps(const std::string& build, bool filter) {
  std::vector<std::string> argv = {target(build), "sleep", "20"};
  LaunchOptions opts;
  if (filter) opts.trace_syscalls = {SYS_clock_nanosleep, SYS_nanosleep};
  auto t = launch(argv, opts);
  ASSERT_TRUE(t.session);
  Seen seen;
  ASSERT_TRUE(t.session->add_syscall_probe(recording({SYS_clock_nanosleep, SYS_nanosleep}, &seen)).ok());
  uint64_t samples = 0;
  ASSERT_TRUE(t.session->add_sampler(2000, [&](HitContext&) { samples++; }).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_GT(samples, 20u);  // the sleeps were interrupted (200 ms at 2000 Hz)
  EXPECT_EQ(seen.entries, 20);
  EXPECT_EQ(seen.returns, 20);
  EXPECT_EQ(seen.retvals, (std::map<int64_t, int>{{0, 20}}));
  EXPECT_EQ(t.output(), "slept 20\n");
}

TEST(Providers, InterruptedSleepsReportOnceWithFilter) { interrupted_sleeps("pie-O2", true); }
TEST(Providers, InterruptedSleepsReportOnceWithoutFilter) { interrupted_sleeps("pie-O2", false); }

TEST(Providers, SamplingABusyTwoThreadProgram) {
  std::vector<std::string> argv = {target("pie-O2"), "busy", "150000000"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "busy 525000000 525000000\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::map<int, int> per_tid;
  std::map<int, int> busy_per_tid;
  int total = 0, in_busy = 0;
  auto id = t.session->add_sampler(200, [&](HitContext& ctx) {
    total++;
    per_tid[ctx.tid()]++;
    EXPECT_EQ(ctx.site().address, ctx.regs().rip);
    if (ctx.site().symbol == "busy") {
      EXPECT_TRUE(ctx.site().is_main_executable);
      EXPECT_EQ(ctx.site().address, ctx.site().symbol_address + ctx.site().offset);
      in_busy++;
      busy_per_tid[ctx.tid()]++;
    }
  });
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(busy_per_tid.size(), 2u);  // both workers
  for (const auto& [tid, n] : busy_per_tid) EXPECT_NE(tid, t.session->pid());
  EXPECT_GT(total, 10);
  EXPECT_GT(in_busy * 2, total) << in_busy << " of " << total;
  EXPECT_EQ(t.session->stats(*id).hits, static_cast<uint64_t>(total));
  EXPECT_EQ(t.output(), expected);
}

TEST(Providers, TimerRunsOnTheTracerThreadAndCanBeRemoved) {
  auto t = launch({target("pie-O2"), "sleep", "10"});
  ASSERT_TRUE(t.session);
  int calls = 0;
  pid_t tracer = static_cast<pid_t>(::syscall(SYS_gettid));
  ProbeId id = 0;
  auto r = t.session->add_timer(0.01, [&] {
    EXPECT_EQ(static_cast<pid_t>(::syscall(SYS_gettid)), tracer);
    if (++calls == 3) {
      EXPECT_TRUE(t.session->remove(id).ok());
    }
  });
  ASSERT_TRUE(r.ok()) << r.error().message();
  id = *r;
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(calls, 3);  // removed from its own callback
  EXPECT_EQ(t.output(), "slept 10\n");
}

// stop() and detach() with a filter: probes are disarmed and the target is
// served until it exits; its later getppid calls succeed (no ENOSYS).
TEST(Providers, DetachWithFilterDrainsUntilExit) {
  auto t = launch({target("pie-O2"), "count"}, [] {
    LaunchOptions o;
    o.trace_syscalls = {SYS_getppid};
    return o;
  }());
  ASSERT_TRUE(t.session);
  int entries = 0;
  SyscallProbe p;
  p.numbers = {SYS_getppid};
  Session* s = t.session.get();
  p.entry_handler = [&](HitContext&, const SyscallEvent&) {
    entries++;
    s->stop();
  };
  ASSERT_TRUE(s->add_syscall_probe(p).ok());
  auto works = add_counter(*s, "a.out:work");
  ASSERT_TRUE(works.ok());
  auto rc = s->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, -1);
  EXPECT_EQ(entries, 1);
  auto st = s->detach();
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(entries, 1);
  EXPECT_EQ(works->load(), 0u);  // disarmed before main's loop reached work()
  EXPECT_EQ(t.output(), kCountOutput);
}

TEST(Providers, Errors) {
  LaunchOptions opts;
  opts.trace_syscalls = {SYS_getppid};
  auto t = launch({target("pie-O2"), "count"}, opts);
  ASSERT_TRUE(t.session);
  SyscallProbe p;
  p.numbers = {SYS_getpid};
  auto r = t.session->add_syscall_probe(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "system call 'getpid' is not in this session's seccomp filter; name it in "
            "LaunchOptions::trace_syscalls before launching");
  p.numbers = {9999};
  r = t.session->add_syscall_probe(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "unknown x86-64 system call number 9999");
  p.numbers = {};
  EXPECT_FALSE(t.session->add_syscall_probe(p).ok());
  EXPECT_FALSE(t.session->add_sampler(0, [](HitContext&) {}).ok());
  EXPECT_FALSE(t.session->add_sampler(20000, [](HitContext&) {}).ok());
  EXPECT_FALSE(t.session->add_timer(-1, [] {}).ok());

  LaunchOptions bad;
  bad.trace_syscalls = {-5};
  auto s = Session::launch({target("pie-O2"), "count"}, test_options(bad));
  EXPECT_FALSE(s.ok());
  ASSERT_TRUE(t.session->run().ok());
}

}  // namespace
}  // namespace probekit
