// End-to-end: what probekit does around tracing rather than during it —
// set-up errors (never silent, never leaving a launched command behind),
// stop requests while arming, stopped targets, inputs that never end,
// output files and terminals, and how the -c command ended.
// Every run has a timeout, so a regression to a hang fails instead of hanging.
#include <gtest/gtest.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "harness.h"

using namespace probekit::testing;

namespace {

// Pids of live processes whose command line has `arg` as an argument.
std::vector<pid_t> processes_with_arg(const std::string& arg) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    std::string cmdline = read_file("/proc/" + std::string(e->d_name) + "/cmdline");
    size_t pos = 0;
    while (pos < cmdline.size()) {
      std::string a = cmdline.c_str() + pos;
      if (a == arg && alive(static_cast<pid_t>(pid))) out.push_back(static_cast<pid_t>(pid));
      pos += a.size() + 1;
    }
  }
  closedir(d);
  return out;
}

std::string unique_marker(const std::string& what) {
  return "pk-marker-" + what + "-" + std::to_string(getpid());
}

void stop_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  wait_exit(pid);
}

}  // namespace

// Item 6: with -c, a definition that names nothing is the error it is with -p.
TEST(SetupCli, UnresolvableDefinitionsWithACommandAreErrors) {
  std::string cmd = target_path("pk_basic-pie-O2") + " 1 1";
  auto typo = run({probekit_path(), "trace", "-c", cmd, "p:libc.so.6:mallocc"}, 30);
  EXPECT_EQ(typo.status, 2) << typo.err;
  EXPECT_NE(typo.err.find("did you mean 'malloc'"), std::string::npos) << typo.err;
  for (const char* def : {"p:nosuch_fn", "p:0x0", "r:libc.so.6:mallocc"}) {
    auto r = run({probekit_path(), "trace", "-c", cmd, def}, 30);
    EXPECT_EQ(r.status, 2) << def << ": " << r.err;
    EXPECT_NE(r.err.find("error:"), std::string::npos) << def << ": " << r.err;
    EXPECT_EQ(r.out.find("threads 1 calls 1"), std::string::npos) << def << ": the command ran: " << r.out;
  }
  // A module that is not loaded may be loaded later: a warning naming it,
  // and the program runs; -Z accepts it quietly.
  auto later = run({probekit_path(), "trace", "-C", "-c", cmd, "p:libnope.so:malloc"}, 30);
  EXPECT_EQ(later.status, 0) << later.err;
  EXPECT_NE(later.err.find("warning: module 'libnope.so' is not loaded"), std::string::npos) << later.err;
  EXPECT_NE(later.out.find("threads 1 calls 1"), std::string::npos) << later.out;
  auto quiet = run({probekit_path(), "trace", "-Z", "-C", "-c", cmd, "p:libnope.so:malloc"}, 30);
  EXPECT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("warning"), std::string::npos) << quiet.err;
}

// Item 7: an error after launch ends the command launched; what can be
// checked before launch is, so the command never starts.
TEST(SetupCli, SetupErrorsLeaveNoCommandRunning) {
  struct Case {
    std::string name;
    std::vector<std::string> args;  // the command is appended as -c
  };
  std::vector<Case> cases = {
      {"symbol", {"trace", "p:a.out:nosuch_function"}},
      {"argname", {"trace", "p:a.out:work x=$arg:nosuch"}},
      {"fail", {"trace", "--fail", "work=0"}},
      {"dmatch", {"-n", "pid$target:a.out:nosuch_function:entry { }"}},
      {"dlib", {"-n", "pid$target:libc.so.6:mallocc:entry { }"}},
  };
  for (const auto& c : cases) {
    std::string marker = unique_marker(c.name);
    std::vector<std::string> argv = {probekit_path()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    argv.push_back("-c");
    argv.push_back(target_path("pk_spin-pie-O2") + " 0 " + marker);
    auto r = run(argv, 30);
    EXPECT_EQ(r.status, c.args[0] == "trace" ? 2 : 1) << c.name << ": " << r.err;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto left = processes_with_arg(marker);
    EXPECT_TRUE(left.empty()) << c.name << ": the command outlived the error: " << r.err;
    for (pid_t p : left) kill(p, SIGKILL);
  }
}

// Item 8: a process found stopped is traced, detached and left stopped,
// with its bytes restored; it runs normally when continued.
TEST(SetupCli, AttachToAStoppedProcessLeavesItStopped) {
  std::string out = ::testing::TempDir() + "/pk_spin_stopped.txt";
  pid_t pid = spawn({target_path("pk_spin-pie-O2"), "1"}, out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string before = text_snapshot(pid);
  ASSERT_FALSE(before.empty());
  kill(pid, SIGSTOP);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto r = run({probekit_path(), "trace", "-C", "-d", "1", "-p", std::to_string(pid), "p:a.out:work"}, 30);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("probekit/p_work_0"), std::string::npos) << r.out;
  EXPECT_EQ(status_field(pid, "State"), "T (stopped)");
  EXPECT_EQ(status_field(pid, "TracerPid"), "0");
  EXPECT_EQ(text_snapshot(pid), before);
  kill(pid, SIGCONT);
  size_t size_after = read_file(out).size();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(alive(pid));
  EXPECT_GT(read_file(out).size(), size_after);
  stop_and_reap(pid);
}

// Item 9: SIGTERM while a D program arms every libc function stops the
// arming, restores every byte and detaches: the target lives on.
TEST(SetupCli, StopRequestWhileArmingDetachesCleanly) {
  std::string out = ::testing::TempDir() + "/pk_spin_arming.txt";
  pid_t pid = spawn({target_path("pk_spin-nopie-O2"), "1"}, out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string before = text_snapshot(pid);
  std::string libc_before = text_snapshot(pid, "libc.so.6");
  std::string tracer_out = ::testing::TempDir() + "/pk_arming_out.txt";
  pid_t tracer = spawn({probekit_path(), "-q", "-n", "pid$target:libc.so.6::entry { @[probefunc] = count(); }", "-p",
                        std::to_string(pid)},
                       tracer_out);
  // As soon as it has attached, it is arming.
  for (int i = 0; i < 50000 && status_field(pid, "TracerPid") != std::to_string(tracer); ++i)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  kill(tracer, SIGTERM);
  EXPECT_EQ(wait_exit(tracer, 30), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(alive(pid));
  EXPECT_EQ(text_snapshot(pid), before);
  EXPECT_EQ(text_snapshot(pid, "libc.so.6"), libc_before);
  size_t size_after = read_file(out).size();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(read_file(out).size(), size_after);
  stop_and_reap(pid);
}

// Item 10: inputs that would run or read for ever are errors.
TEST(SetupCli, EmptyAndEndlessProgramsAreErrors) {
  auto empty = run({probekit_path(), "-n", ""}, 10);
  EXPECT_EQ(empty.status, 1) << empty.err;
  EXPECT_NE(empty.err.find("empty D program translation unit [D_EMPTY]"), std::string::npos) << empty.err;

  std::string file = ::testing::TempDir() + "/pk_empty.d";
  std::ofstream(file) << "/* nothing */\n";
  auto comment = run({probekit_path(), "-s", file}, 10);
  EXPECT_EQ(comment.status, 1) << comment.err;
  EXPECT_NE(comment.err.find("[D_EMPTY]"), std::string::npos) << comment.err;

  auto zero = run({probekit_path(), "-s", "/dev/zero"}, 10);
  EXPECT_EQ(zero.status, 1) << zero.err;
  EXPECT_NE(zero.err.find("'/dev/zero' is not a D program"), std::string::npos) << zero.err;

  // 30 KB of NUL bytes: at most 20 errors, each line shown as a window.
  std::string nul = ::testing::TempDir() + "/pk_nul.d";
  std::ofstream(nul, std::ios::binary) << std::string(30000, '\0');
  auto garbage = run({probekit_path(), "-s", nul}, 60);
  EXPECT_EQ(garbage.status, 1);
  EXPECT_EQ(count_lines(garbage.err, "invalid character"), 20u);
  EXPECT_NE(garbage.err.find("too many errors; 29980 more not shown"), std::string::npos);
  EXPECT_LT(garbage.err.size(), 20000u);
  EXPECT_EQ(garbage.err.find('\0'), std::string::npos);
}

// Item 12: -o never truncates before tracing starts, never follows a
// symbolic link; error messages escape control bytes.
TEST(SetupCli, OutputFileIsTouchedOnlyWhenTracingStarts) {
  std::string dir = ::testing::TempDir();
  std::string kept = dir + "/pk_kept.txt";
  std::ofstream(kept) << "keep me\n";
  auto r = run({probekit_path(), "trace", "-o", kept, "-p", "999999999", "p:a.out:work"}, 30);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(read_file(kept), "keep me\n");
  auto bad = run({probekit_path(), "trace", "-o", kept, "-c", target_path("pk_basic-pie-O2") + " 1 1",
                  "p:a.out:nosuch"},
                 30);
  EXPECT_EQ(bad.status, 2) << bad.err;
  EXPECT_EQ(read_file(kept), "keep me\n");

  std::string fresh = dir + "/pk_fresh_" + std::to_string(getpid()) + ".txt";
  unlink(fresh.c_str());
  auto none = run({probekit_path(), "trace", "-o", fresh, "-p", "999999999", "p:a.out:work"}, 30);
  EXPECT_EQ(none.status, 1);
  struct stat st {};
  EXPECT_NE(stat(fresh.c_str(), &st), 0) << "a file was left behind by a failed run";

  std::string secret = dir + "/pk_secret.txt";
  std::string link = dir + "/pk_link.txt";
  std::ofstream(secret) << "secret\n";
  unlink(link.c_str());
  ASSERT_EQ(symlink(secret.c_str(), link.c_str()), 0);
  auto linked = run({probekit_path(), "trace", "-o", link, "-c", target_path("pk_basic-pie-O2") + " 1 1",
                     "p:a.out:work"},
                    30);
  EXPECT_EQ(linked.status, 2) << linked.err;
  EXPECT_NE(linked.err.find("symbolic link"), std::string::npos) << linked.err;
  EXPECT_EQ(read_file(secret), "secret\n");
  // Naming the file itself works.
  auto direct = run({probekit_path(), "trace", "-o", secret, "-c", target_path("pk_basic-pie-O2") + " 1 1",
                     "p:a.out:work"},
                    30);
  EXPECT_EQ(direct.status, 0) << direct.err;
  EXPECT_EQ(count_lines(read_file(secret), "p_work_0"), 1u);
  unlink(link.c_str());

  auto esc = run({probekit_path(), "trace", "-c", "/bin/true", "p:a.out:wo\x1b[31mrk"}, 30);
  EXPECT_EQ(esc.status, 2);
  EXPECT_EQ(esc.err.find('\x1b'), std::string::npos) << esc.err;
  EXPECT_NE(esc.err.find("wo\\x1b[31mrk"), std::string::npos) << esc.err;
}

// Item 14: how the -c command ended is said, and can be the exit status.
TEST(SetupCli, CommandExitStatusIsReportedAndCanBeReturned) {
  auto plain = run({probekit_path(), "trace", "-C", "-c", "/bin/sh -c 'exit 3'", "p:libc.so.6:malloc"}, 30);
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_TRUE(std::regex_search(plain.err, std::regex(R"(probekit: pid \d+ exited with status 3\n)"))) << plain.err;
  auto coded =
      run({probekit_path(), "trace", "--exit-code", "-C", "-c", "/bin/sh -c 'exit 3'", "p:libc.so.6:malloc"}, 30);
  EXPECT_EQ(coded.status, 3) << coded.err;
  auto killed = run({probekit_path(), "-x", "exitcode", "-n", "BEGIN { }", "-c", "/bin/sh -c 'kill -SEGV $$'"}, 30);
  EXPECT_EQ(killed.status, 128 + SIGSEGV) << killed.err;
  EXPECT_TRUE(std::regex_search(killed.err, std::regex(R"(probekit: pid \d+ was killed by SIGSEGV\n)")))
      << killed.err;
  // A probekit error wins over the command's status.
  auto bad = run({probekit_path(), "trace", "--exit-code", "-c", "/bin/true", "p:a.out:nosuch"}, 30);
  EXPECT_EQ(bad.status, 2) << bad.err;
}
