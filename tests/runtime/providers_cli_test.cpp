// End-to-end: return probes, error injection, syscall and profile providers
// and flow indent, through the probekit command as a user runs them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

#include "harness.h"

using namespace probekit::testing;

namespace {

class RetBuilds : public ::testing::TestWithParam<std::string> {
protected:
  std::string ret_target() const { return target_path("pk_ret-" + GetParam()); }
};

std::string untraced(const std::vector<std::string>& argv) { return run(argv).out; }

}  // namespace

TEST_P(RetBuilds, TraceReturnProbeReportsEachReturnValueAndCaller) {
  std::string expected = untraced({ret_target(), "paths"});
  auto r = run({probekit_path(), "trace", "-c", ret_target() + " paths", "r:a.out:classify ret=$retval:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(expected), std::string::npos) << r.out;
  std::regex line(R"(r_classify_0: \(main\+0x[0-9a-f]+ <- classify\) ret=(-?\d+))");
  std::vector<std::string> rets;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), line); it != std::sregex_iterator(); ++it)
    rets.push_back((*it)[1]);
  EXPECT_EQ(rets.size(), 6u) << r.out;
  EXPECT_EQ(rets.front(), "-1") << r.out;
}

// Issue 9: a return through a tail call reports what the caller receives.
TEST_P(RetBuilds, TraceReturnThroughTailCallsReportsTheRealValue) {
  auto r = run({probekit_path(), "trace", "-c", ret_target() + " wrap 3", "r:a.out:wrapper ret=$retval:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("wrap -228\n"), std::string::npos) << r.out;
  std::regex line(R"(r_wrapper_0: \(main\+0x[0-9a-f]+ <- wrapper\) ret=(-?\d+))");
  std::vector<std::string> rets;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), line); it != std::sregex_iterator(); ++it)
    rets.push_back((*it)[1]);
  EXPECT_EQ(rets, (std::vector<std::string>{"-97", "-76", "-55"})) << r.out;

  auto s = run({probekit_path(), "trace", "-c", ret_target() + " strtol", "r:libc.so.6:strtol ret=$retval:s64"});
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_NE(s.out.find("strtol 1032792\n"), std::string::npos) << s.out;
  std::regex sline(R"(<- strtol\) ret=(-?\d+))");
  std::vector<std::string> svals;
  for (auto it = std::sregex_iterator(s.out.begin(), s.out.end(), sline); it != std::sregex_iterator(); ++it)
    svals.push_back((*it)[1]);
  EXPECT_EQ(svals, (std::vector<std::string>{"42", "-17", "32767", "1000000", "0"})) << s.out;
}

TEST_P(RetBuilds, DEntryAndReturnCountsAgreeOnRecursion) {
  auto r = run({probekit_path(), "-q", "-n",
                "pid$target:a.out:fib:entry { @n[\"entry\"] = count(); } "
                "pid$target:a.out:fib:return { @n[\"return\"] = count(); @top = max(arg1); }",
                "-c", ret_target() + " fib 10"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("fib 10 = 55"), std::string::npos) << r.out;
  // -O0 makes 177 calls; -O2 turns one of the two recursive calls into a
  // loop (89 calls). Either way every entry has its return.
  std::smatch e, ret;
  ASSERT_TRUE(std::regex_search(r.out, e, std::regex(R"(entry\s+(\d+)\n)"))) << r.out;
  ASSERT_TRUE(std::regex_search(r.out, ret, std::regex(R"(return\s+(\d+)\n)"))) << r.out;
  EXPECT_EQ(e[1], ret[1]) << r.out;
  EXPECT_TRUE(e[1] == "177" || e[1] == "89") << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+55\n)"))) << r.out;
}

TEST_P(RetBuilds, FailInjectionRunsTheErrorPathOnlyWithW) {
  auto refused = run({probekit_path(), "trace", "--fail", "open_config=-5", "-c", ret_target() + " override"});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("add -w"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.out.find("config ok"), std::string::npos) << refused.out;  // refused before it started

  auto r = run({probekit_path(), "trace", "-w", "--fail", "open_config=-5", "-c", ret_target() + " override"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("error path: open_config returned -5"), std::string::npos) << r.out;
  EXPECT_EQ(count_lines(r.out, "fail_open_config: (open_config+0x0) retval=-5"), 1u) << r.out;
}

TEST_P(RetBuilds, DOverrideNeedsW) {
  std::string prog = "pid$target:a.out:open_config:entry { override(-7); }";
  auto refused = run({probekit_path(), "-q", "-n", prog, "-c", ret_target() + " override"});
  EXPECT_EQ(refused.status, 1) << refused.err;
  auto r = run({probekit_path(), "-q", "-w", "-n", prog, "-c", ret_target() + " override"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("error path: open_config returned -7"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Builds, RetBuilds, ::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"));

TEST(ProvidersCli, VerboseSaysHowEachProbeIsArmed) {
  auto r = run({probekit_path(), "trace", "-v", "-C", "-c", target_path("pk_ret-pie-O2") + " paths",
                "r:a.out:classify", "p:a.out:classify"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("classify: ret-site, 2 returns"), std::string::npos) << r.err;
}

TEST(ProvidersCli, SyscallEntryReturnAndErrno) {
  std::string t = target_path("pk_syscalls-pie-O2");
  std::string expected = untraced({t, "count"});
  auto r = run({probekit_path(), "-q", "-n",
                "syscall::getppid:entry { @e = count(); } "
                "syscall::openat:return /errno != 0/ { printf(\"openat %d errno %d\\n\", arg0, errno); }",
                "-c", t + " count"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(expected), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("openat -1 errno 2\n"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+7\n)"))) << r.out;
}

TEST(ProvidersCli, ProfileSamplesTheBusyFunction) {
  auto r = run({probekit_path(), "-q", "-n", "profile-199 { @[ufunc(uregs[R_PC])] = count(); }", "-c",
                target_path("pk_syscalls-pie-O2") + " busy 300000000"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(`busy\s+(\d+))"))) << r.out;
  EXPECT_GT(std::stoi(m[1]), 5);
}

// Module vmlinux, as dtrace-utils lists them (syscall:vmlinux:getppid:entry).
TEST(ProvidersCli, ListSyscalls) {
  auto r = run({probekit_path(), "-l", "-n", "syscall::getpp*:"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"(\n\s+1\s+syscall\s+vmlinux\s+getppid entry\n\s+2\s+syscall\s+vmlinux\s+getppid return\n)")))
      << r.out;
  auto named = run({probekit_path(), "-l", "-n", "syscall:vmlinux:getppid:entry"});
  EXPECT_EQ(named.status, 0) << named.err;
  EXPECT_NE(named.out.find("getppid entry"), std::string::npos) << named.out;
  auto other = run({probekit_path(), "-l", "-n", "syscall:libc:getppid:entry"});
  EXPECT_EQ(other.out.find("getppid entry"), std::string::npos) << other.out;
}

// probemod of a syscall probe is vmlinux, the target's calls and the
// system's alike (dtrace-utils' variables/bvar/tst.probemod.d); a
// description naming that module selects them.
TEST(ProvidersCli, SyscallProbemodIsVmlinux) {
  auto t = run({probekit_path(), "-q", "-n",
                "syscall:vmlinux:write:entry /pid == $target/ { printf(\"[%s]\\n\", probemod); exit(0); }", "-c",
                "/bin/sh -c 'echo x > /dev/null'"});
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.out, "[vmlinux]\n\n");
  if (geteuid() != 0) return;  // the system's calls need root (kernel tracepoints)
  auto k = run({probekit_path(), "-q", "-w", "-n",
                "BEGIN { system(\"echo x > /dev/null\"); } syscall::write:entry /ppid == $pid/ "
                "{ printf(\"[%s]\\n\", probemod); exit(0); }"},
               30);
  EXPECT_EQ(k.status, 0) << k.err;
  EXPECT_EQ(k.out, "[vmlinux]\n\n");
}

TEST(ProvidersCli, FlowIndentQuietEmptyClauses) {
  auto r = run({probekit_path(), "-q", "-F", "-n", "pid$target:a.out:fib:entry,pid$target:a.out:fib:return {}", "-c",
                target_path("pk_ret-nopie-O0") + " fib 2"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string flow = normalize(r.out, R"(fib 2 = 1\n)", "");
  EXPECT_NE(flow.find("  -> fib"), std::string::npos) << r.out;
  EXPECT_EQ(count_lines(flow, "-> fib"), count_lines(flow, "<- fib")) << r.out;
  EXPECT_EQ(count_lines(flow, "-> fib"), 3u) << r.out;
}

TEST(ProvidersCli, GlobSkipsWhatCannotBeProbedAndArmsTheRest) {
  auto r = run({probekit_path(), "-n", "pid$target:libc.so.6::entry { @c = count(); }", "-c", "/bin/echo hi"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("hi\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("skipped: they cannot be probed safely"), std::string::npos) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"(matched (\d+) probes)"))) << r.err;
  EXPECT_GT(std::stoi(m[1]), 1000);
}

TEST(ProvidersCli, OverrideRefusedWhereTheReturnCannotBeFaked) {
  // mix() returns a double (xmm0): faking rax would not be what the caller reads.
  std::string t = target_path("pk_args-pie-O2");
  std::string expected = untraced({t});
  auto r = run({probekit_path(), "trace", "-w", "--fail", "mix=1", "-c", t});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("returns 'double' in xmm0"), std::string::npos) << r.err;
  auto d = run({probekit_path(), "-q", "-w", "-n", "pid$target:a.out:mix:entry { override(1); }", "-c", t});
  EXPECT_EQ(d.status, 0);
  EXPECT_NE(d.err.find("returns 'double' in xmm0"), std::string::npos) << d.err;
  EXPECT_EQ(d.out, expected + "\n");  // the program is untouched (then the blank line when tracing stops)
}

TEST(ProvidersCli, ReturnMechanismCanBeForcedAndBothPairTheSame) {
  std::string t = target_path("pk_ret-nopie-O2");
  std::vector<std::string> sums;
  for (const char* mech : {"ret-site", "hijack"}) {
    auto r = run({probekit_path(), "trace", "-v", "--return-mechanism", mech, "-c", t + " paths",
                  "r:a.out:classify ret=$retval:s64"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find(std::string("classify: ") + mech), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.out, "<- classify) ret="), 6u) << mech << "\n" << r.out;
    auto d = run({probekit_path(), "-q", "-x", std::string("retprobe=") + mech, "-n",
                  "pid$target:a.out:classify:return { @r = sum(arg1); }", "-c", t + " paths"});
    ASSERT_EQ(d.status, 0) << d.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(d.out, m, std::regex(R"(\n\s+(-?\d+)\n)"))) << d.out;
    sums.push_back(m[1]);
  }
  EXPECT_EQ(sums[0], sums[1]);
  auto bad = run({probekit_path(), "trace", "--return-mechanism", "sometimes", "-c", t, "r:a.out:classify"});
  EXPECT_EQ(bad.status, 2);
}

TEST(ProvidersCli, ZeroMatchesArmWhenTheLibraryIsLoaded) {
  std::string t = target_path("pk_dlopen-pie-O2");
  std::string lib = target_path("libpk_dltest.so");
  std::string prog =
      "pid$target:libpk_dltest.so:dl_func:entry { @s = sum(arg0); } "
      "pid$target:libpk_dltest.so:dl_func:return { @r = sum(arg1); }";
  // The library is not loaded when the command starts: a warning names it
  // and the probes arm when it is loaded; -Z accepts it quietly.
  auto without = run({probekit_path(), "-q", "-n", prog, "-c", t + " " + lib + " 5"});
  EXPECT_EQ(without.status, 0) << without.err;
  EXPECT_NE(without.err.find("warning: description 'pid$target:libpk_dltest.so:dl_func:entry': module "
                             "'libpk_dltest.so' is not loaded"),
            std::string::npos)
      << without.err;
  EXPECT_NE(without.out.find("sum 516\n"), std::string::npos) << without.out;
  auto r = run({probekit_path(), "-q", "-Z", "-n", prog, "-c", t + " " + lib + " 5"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("sum 516\n"), std::string::npos) << r.out;
  // dl_func(0..4): arguments sum to 10, returns (x + 100) to 510; printed
  // at the end one after the other, as dtrace prints them.
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+10\n\s+510\n)"))) << r.out;
}
