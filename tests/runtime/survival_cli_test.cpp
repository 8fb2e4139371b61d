// A target outlives probekit: SIGKILL of probekit at a random moment while
// its probes are in the target (int3s of the trap backend, jmps of the jump
// backend) leaves the target running, its text restored by the agent's
// orphan guard (src/agent/agent.c), and a launched command finishes with
// the output it prints untraced.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"

namespace probekit::testing {
namespace {

template <typename F>
bool eventually(F ok, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return ok();
}

std::string temp(const std::string& tag) {
  static int n = 0;
  return "/tmp/pk_survival_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

// SIGKILL of probekit `pk`: the target's text (each module suffix's
// snapshot, "" the executable) comes back as it was, the target goes on
// writing `out`, and it ends by our SIGTERM, not by a SIGTRAP or a SIGSEGV.
void expect_outlives(pid_t pk, pid_t target, const std::string& out,
                     const std::vector<std::pair<std::string, std::string>>& texts) {
  ::kill(pk, SIGKILL);
  EXPECT_EQ(wait_exit(pk), 128 + SIGKILL);
  for (const auto& [module, text] : texts)
    EXPECT_TRUE(eventually([&] { return text_snapshot(target, module) == text; }, 5))
        << "text not restored: " << (module.empty() ? "a.out" : module);
  const size_t lines = read_file(out).size();
  EXPECT_TRUE(eventually([&] { return read_file(out).size() > lines + 20; }, 10)) << "not running";
  EXPECT_TRUE(alive(target));
  ::kill(target, SIGTERM);
  EXPECT_EQ(wait_exit(target), 128 + SIGTERM);
}

TEST(Survival, AttachedTargetOutlivesAKilledProbekit) {
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (const char* mode : {"--backend=trap", "-C", "--backend=jump", "--hands-off"}) {
    for (int round = 0; round < 3; ++round) {
      SCOPED_TRACE(std::string(mode) + " round " + std::to_string(round));
      const std::string out = temp("spin"), pk_out = temp("pk");
      // Jump probes on hot functions of a threaded target. Trap probes on a
      // function called every 20 ms: a kill while a thread is stopped at an
      // int3 hit loses that thread (README, "the windows left"), so the
      // share of time spent stopped is kept small.
      const bool trap = std::string(mode) == "--backend=trap";
      pid_t target = spawn({target_path("pk_spin-pie-O2"), trap ? "0" : "2"}, out);
      ASSERT_TRUE(eventually([&] { return read_file(out).size() > 7; }, 10));
      const std::string text = text_snapshot(target), libc = text_snapshot(target, "libc.so.6");
      std::vector<std::string> argv = {probekit_path(), "trace", mode, "-p", std::to_string(target)};
      if (trap) {
        argv.push_back("p:libc.so.6:fflush");
      } else if (std::string(mode) == "-C") {
        argv.push_back("p:a.out:work");
        argv.push_back("p:libc.so.6:nanosleep");
      } else {  // records: the agent writes a line's arguments at each hit
        argv.push_back("p:a.out:work x=%di:s64");
        argv.push_back("p:libc.so.6:nanosleep req=%di:x64 sec=+0(%di):s64");
        // A return probe hijacked by the agent: the threads sleep inside
        // clock_nanosleep, so a kill finds their return addresses swapped
        // for the agent's trampoline, which must go on returning without
        // probekit.
        argv.push_back("r:libc.so.6:clock_nanosleep ret=$retval:s64");
      }
      pid_t pk = spawn(argv, pk_out);
      // Armed: the probes are in (after this, probekit runs no system call
      // in the target until it detaches).
      ASSERT_TRUE(eventually(
          [&] { return (trap || text_snapshot(target) != text) && text_snapshot(target, "libc.so.6") != libc; }, 10))
          << "never patched";
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
      // The agent puts the bytes back when the death pipe signals it (or at
      // the first int3 nobody serves).
      expect_outlives(pk, target, out, {{"", text}, {"libc.so.6", libc}});
      ::unlink(out.c_str());
      ::unlink(pk_out.c_str());
    }
  }
}

// Jump probes through hops (a jmp rel8 to a jmp rel32 in padding): the
// agent puts the site's two bytes back before the hop's five, so a thread
// never runs the padding from the middle of a NOP.
TEST(Survival, HopSitesAreRestoredWhenProbekitIsKilled) {
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (const char* front : {"trace", "d"}) {
    for (int round = 0; round < 3; ++round) {
      SCOPED_TRACE(std::string(front) + " round " + std::to_string(round));
      const std::string out = temp("hop"), pk_out = temp("pkhop");
      pid_t target = spawn({target_path("pk_hop-pie-O2"), "spin"}, out);
      ASSERT_TRUE(eventually([&] { return read_file(out).size() > 7; }, 10));
      const std::string text = text_snapshot(target);
      std::vector<std::string> argv =
          std::string(front) == "trace"
              ? std::vector<std::string>{probekit_path(), "trace", "--backend=jump", "-p", std::to_string(target),
                                         "p:a.out:hop_target x=%di:s64", "p:a.out:hop_short"}
              : std::vector<std::string>{probekit_path(), "-q", "-x", "backend=jump", "-p", std::to_string(target), "-n",
                                         "pid$target:a.out:hop_*:entry /arg0 > 10/ { @[probefunc] = sum(arg0); }"};
      pid_t pk = spawn(argv, pk_out);
      ASSERT_TRUE(eventually([&] { return text_snapshot(target) != text; }, 10)) << "never patched";
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
      expect_outlives(pk, target, out, {{"", text}});
      ::unlink(out.c_str());
      ::unlink(pk_out.c_str());
    }
  }
}

// probekit killed in the middle of a system call it runs inside a stopped
// thread of the target: mapping the record rings, after the agent's guard
// is in place. probekit stops itself there (a fault-injection variable,
// proc::remote_syscall), before or after single-stepping the call, and the
// test kills it. The thread, its registers still those of the call, traps
// at the agent's gadget (`syscall; int3`) and the agent's SIGTRAP handler
// puts back the registers probekit kept in its control block: the target
// goes on as before. Without that, the thread ran on from the call with the
// call's registers, or died of the step's SIGTRAP.
TEST(Survival, KilledInTheMiddleOfARemoteSystemCall) {
  auto state = [](pid_t pid) {
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const size_t paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() ? '?' : stat[paren + 2];
  };
  for (const char* where : {"before-step", "after-step"}) {
    SCOPED_TRACE(where);
    const std::string out = temp("inject"), pk_out = temp("pkinject");
    pid_t target = spawn({target_path("pk_spin-pie-O2"), "2"}, out);
    ASSERT_TRUE(eventually([&] { return read_file(out).size() > 7; }, 10));
    const std::string text = text_snapshot(target);
    ::setenv("PROBEKIT_TEST_FREEZE_REMOTE_SYSCALL", where, 1);
    pid_t pk = spawn({probekit_path(), "trace", "--backend=jump", "-p", std::to_string(target),
                      "p:a.out:work x=%di:s64"},
                     pk_out);
    ::unsetenv("PROBEKIT_TEST_FREEZE_REMOTE_SYSCALL");
    ASSERT_TRUE(eventually([&] { return state(pk) == 'T'; }, 10)) << "probekit never stopped in a remote call";
    expect_outlives(pk, target, out, {{"", text}});
    ::unlink(out.c_str());
    ::unlink(pk_out.c_str());
  }
}

TEST(Survival, LaunchedCommandFinishesWithItsOwnOutput) {
  const std::vector<std::string> cmd = {target_path("pk_basic-pie-O2"), "2", "1000000"};
  const RunResult plain = run(cmd);
  ASSERT_EQ(plain.status, 0);
  const std::string out = temp("launched");
  pid_t pk = spawn({probekit_path(), "trace", "--backend=trap", "-c", cmd[0] + " 2 1000000", "p:a.out:work"}, out);
  // Wait until the probe has fired (probekit's first hit lines), then kill.
  ASSERT_TRUE(eventually([&] { return count_lines(read_file(out), "p_work") > 100; }, 20));
  ::kill(pk, SIGKILL);
  EXPECT_EQ(wait_exit(pk), 128 + SIGKILL);
  // The command was probekit's child: it goes on, untraced, to the end.
  EXPECT_TRUE(eventually([&] { return read_file(out).find("threads 2 calls") != std::string::npos; }, 30));
  const std::string all = read_file(out);
  EXPECT_NE(all.find(plain.out), std::string::npos) << "the command's own line differs";
  ::unlink(out.c_str());
}

// A fork child (no exec) shares the agent's death pipe with its parent:
// detaching must not make the kernel signal the parent when probekit's end
// of the pipe closes.
TEST(Survival, DetachLeavesAParentWithAForkedChildRunning) {
  const std::string out = temp("fork");
  pid_t pk = spawn({probekit_path(), "trace", "-d", "0.5", "-c",
                    "sh -c 'sleep 0.2; (sleep 1.5; echo sub) & sleep 1; echo done; wait'", "p:libc.so.6:malloc"},
                   out);
  EXPECT_EQ(wait_exit(pk), 0);
  EXPECT_TRUE(eventually([&] { return read_file(out).find("sub") != std::string::npos; }, 10));
  EXPECT_NE(read_file(out).find("done\n"), std::string::npos) << "the parent shell did not survive the detach";
  ::unlink(out.c_str());
}

// The target's mappings without the main stack's start (it may grow).
std::string mappings(pid_t pid) {
  std::istringstream maps(read_file("/proc/" + std::to_string(pid) + "/maps"));
  std::string out, line;
  while (std::getline(maps, line)) {
    if (line.find("[stack]") != std::string::npos) line = line.substr(line.find('-'));
    out += line + "\n";
  }
  return out;
}

// A normal detach (-d) leaves the target as it found it: text, and no
// mapping of probekit's (the agent's memfd areas, out-of-line slots).
TEST(Survival, DetachLeavesNoMappingBehind) {
  // Trap probes, counting jump probes, recording jump probes (their rings
  // and identity page go too).
  for (const char* mode : {"--backend=trap", "-C", "--backend=jump"}) {
    SCOPED_TRACE(mode);
    const std::string out = temp("maps");
    pid_t target = spawn({target_path("pk_spin-pie-O2"), "2"}, out);
    ASSERT_TRUE(eventually([&] { return read_file(out).size() > 7; }, 10));
    const std::string text = text_snapshot(target), libc = text_snapshot(target, "libc.so.6");
    const std::string maps = mappings(target);
    const bool records = std::string(mode) == "--backend=jump";
    const RunResult pk = run({probekit_path(), "trace", mode, "-v", "-d", "0.3", "-p", std::to_string(target),
                              records ? "p:a.out:work x=%di:s64" : "p:a.out:work",
                              records ? "p:libc.so.6:nanosleep req=+0(%di):s64" : "p:libc.so.6:nanosleep"});
    if (records) {
      EXPECT_NE(pk.err.find("jump, recorded in the agent"), std::string::npos) << pk.err;
    }
    EXPECT_EQ(pk.status, 0) << pk.err;
    EXPECT_NE(pk.err.find("p_work_0: site work"), std::string::npos) << pk.err;  // -v notes are on
    EXPECT_EQ(pk.err.find("stay mapped"), std::string::npos) << pk.err;
    EXPECT_EQ(text_snapshot(target), text);
    EXPECT_EQ(text_snapshot(target, "libc.so.6"), libc);
    EXPECT_EQ(mappings(target), maps);
    EXPECT_EQ(mappings(target).find("probekit"), std::string::npos);
    const size_t size = read_file(out).size();
    EXPECT_TRUE(eventually([&] { return read_file(out).size() > size; }, 10)) << "not running";
    ::kill(target, SIGTERM);
    EXPECT_EQ(wait_exit(target), 128 + SIGTERM);
    ::unlink(out.c_str());
  }
}

}  // namespace
}  // namespace probekit::testing
