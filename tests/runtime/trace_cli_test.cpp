// End-to-end: `probekit trace` as a user runs it. Every test checks what the
// traced program printed (unchanged), what probekit printed (exact counts and
// values), how it exited, and, for attach, that the target's text is
// byte-for-byte what it was before.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "harness.h"

using namespace probekit::testing;

namespace {

class TraceBuilds : public ::testing::TestWithParam<std::string> {
protected:
  std::string target(const std::string& name) const { return target_path(name + "-" + GetParam()); }
};

std::string untraced(const std::vector<std::string>& argv) { return run(argv).out; }

}  // namespace

TEST_P(TraceBuilds, ExactHitCountAcrossThreadsAndUnchangedOutput) {
  std::string prog = target("pk_basic");
  std::string expected = untraced({prog, "4", "2000"});
  auto r = run({probekit_path(), "trace", "-C", "-c", prog + " 4 2000", "p:a.out:work"});
  ASSERT_EQ(r.status, 0) << r.err;
  // The program's own line first, untouched, then the table.
  EXPECT_NE(r.out.find(expected), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(probekit/p_work_0\s+(\d+)\s+(\d+))"))) << r.out;
  EXPECT_EQ(m[1], "8000");
  EXPECT_EQ(m[2], "0");
}

TEST_P(TraceBuilds, OneLinePerHitWithArgumentsInOrder) {
  auto r = run({probekit_path(), "trace", "-c", target("pk_basic") + " 1 5", "p:a.out:work x=%di:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::regex line(R"(^\s*\S+-(\d+)\s+\[(\d{3})\]\s+(\d+)\.(\d{6}): p_work_0: \(work\+0x0\) x=(-?\d+)$)");
  std::vector<std::string> xs;
  std::istringstream is(r.out);
  std::string l;
  while (std::getline(is, l)) {
    std::smatch m;
    if (std::regex_match(l, m, line)) xs.push_back(m[5]);
  }
  EXPECT_EQ(xs, (std::vector<std::string>{"0", "1", "2", "3", "4"})) << r.out;
  EXPECT_EQ(count_lines(r.out, "threads 1 calls 5 total 25"), 1u) << r.out;
}

TEST_P(TraceBuilds, JsonEventsAndCounts) {
  auto r = run({probekit_path(), "trace", "-f", "json", "-c", target("pk_basic") + " 1 3",
                "p:grp/ev a.out:work v=%di:u32"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.out, R"({"type":"event","data":{"event":"grp/ev")"), 3u) << r.out;
  EXPECT_NE(r.out.find(R"("args":{"v":2})"), std::string::npos) << r.out;
  auto c = run({probekit_path(), "trace", "-C", "-f", "json", "-c", target("pk_basic") + " 2 7",
                "p:a.out:work"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_NE(c.out.find(R"({"type":"count","data":{"event":"probekit/p_work_0","hits":14)"), std::string::npos)
      << c.out;
}

INSTANTIATE_TEST_SUITE_P(Builds, TraceBuilds, ::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"));

TEST(TraceCli, LibraryProbeBeforeMainLosesNoHit) {
  // libc is not mapped when a -c target starts: the probe arms when ld.so maps it.
  auto r = run({probekit_path(), "trace", "-c", std::string(PROBEKIT_DEMO) + " 4",
                "p:libc.so.6:malloc size=%di:u64"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("served 8 requests"), std::string::npos) << r.out;
  // Eight replies of 64 bytes each.
  EXPECT_GE(count_lines(r.out, "size=64"), 8u) << r.out;
}

TEST(TraceCli, LibcEarlyInitAndIfuncResolverFireForACommand) {
  // Both run inside ld.so, before it reports the libraries consistent:
  // libc's probes arm when its code is mapped (bpftrace sees these too).
  auto r = run({probekit_path(), "trace", "-c", std::string(PROBEKIT_DEMO) + " 1",
                "p:early libc.so.6:__libc_early_init", "p:resolver libc.so.6:strlen"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.out, " early: ("), 1u) << r.out;
  // The resolver runs while ld.so relocates libc, before __libc_early_init.
  auto first_resolver = r.out.find(" resolver: (strlen+0x0)");
  ASSERT_NE(first_resolver, std::string::npos) << r.out;
  EXPECT_LT(first_resolver, r.out.find(" early: (__libc_early_init+0x0)")) << r.out;
}

TEST(TraceCli, DProbeOnLibcEarlyInitFiresOnce) {
  // D expands its descriptions once the libraries are mapped, before ld.so
  // relocates them and calls __libc_early_init.
  auto r = run({probekit_path(), "-q", "-n", "pid$target:libc.so.6:__libc_early_init:entry { @n = count(); }",
                "-c", std::string(PROBEKIT_DEMO) + " 1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(reply bytes\n\n\s+1\n$)"))) << r.out;
}

TEST(TraceCli, OutputFile) {
  std::string path = ::testing::TempDir() + "/pk_trace_out.txt";
  auto r = run({probekit_path(), "trace", "-o", path, "-c", target_path("pk_basic-pie-O2") + " 1 4",
                "p:a.out:work"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(read_file(path), "p_work_0: (work+0x0)"), 4u);
  EXPECT_EQ(count_lines(r.out, "p_work_0"), 0u);
}

TEST(TraceCli, UnknownSymbolSuggestsAndExits2) {
  auto r = run({probekit_path(), "trace", "-c", target_path("pk_basic-pie-O2") + " 1 1", "p:a.out:wrok"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'work'"), std::string::npos) << r.err;
}

TEST(TraceCli, UnknownModuleExits2) {
  auto r = run({probekit_path(), "trace", "-p", std::to_string(getpid()), "p:libnothere.so:f"});
  // Attaching to ourselves is refused or the module is unknown: either way a clear error.
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;
}

TEST(TraceCli, MalformedDefinitionPointsAtTheCharacter) {
  auto r = run({probekit_path(), "trace", "-c", "/bin/true", "p:a.out:work x=%xyz"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("probekit: definition 1: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'%xyz'"), std::string::npos) << r.err;
  // The definition and a caret under column 16 ("%xyz").
  EXPECT_NE(r.err.find("    p:a.out:work x=%xyz\n                   ^"), std::string::npos) << r.err;
}

TEST(TraceCli, NoSuchProcessExits1) {
  auto r = run({probekit_path(), "trace", "-p", "999999999", "p:a.out:work"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;
}

TEST(TraceCli, NotAnInstructionBoundaryExits2) {
  // work+1 at -O0 is inside "push rbp; mov rbp,rsp"... only if push is 1 byte:
  // +2 is inside the 3-byte "mov rbp, rsp".
  auto r = run({probekit_path(), "trace", "-c", target_path("pk_basic-nopie-O0") + " 1 1", "p:a.out:work+2"});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("boundar"), std::string::npos) << r.err;
}

TEST(TraceCli, AnAddressNoSizedFunctionCoversIsRefused) {
  // Nothing can tell whether it starts an instruction: refused, the
  // program untouched (it prints what it prints untraced).
  auto r = run({probekit_path(), "trace", "-c", target_path("pk_basic-pie-O2") + " 1 1", "p:a.out:0x1"});
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot check that"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("FUNCTION+OFFSET"), std::string::npos) << r.err;
}

TEST(TraceCli, UsageErrorsExit2) {
  EXPECT_EQ(run({probekit_path(), "trace", "p:a.out:work"}).status, 2);  // no target
  EXPECT_EQ(run({probekit_path(), "trace", "-f", "xml", "-c", "/bin/true", "p:a.out:work"}).status, 2);
  EXPECT_EQ(run({probekit_path(), "trace", "-p", "1", "-c", "/bin/true", "p:a.out:work"}).status, 2);
  EXPECT_EQ(run({probekit_path(), "trace", "--bogus"}).status, 2);
}

TEST(TraceCli, AttachTraceDetachRestoresBytes) {
  std::string out = ::testing::TempDir() + "/pk_spin_out.txt";
  pid_t pid = spawn({target_path("pk_spin-pie-O2"), "2"}, out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string before = text_snapshot(pid);
  ASSERT_FALSE(before.empty());
  auto r = run({probekit_path(), "trace", "-C", "-d", "1", "-p", std::to_string(pid), "p:a.out:work"});
  EXPECT_EQ(r.status, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(probekit/p_work_0\s+(\d+))"))) << r.out;
  EXPECT_GT(std::stoull(m[1]), 100u);
  EXPECT_TRUE(alive(pid));
  EXPECT_EQ(text_snapshot(pid), before);
  // Still running and printing after the detach.
  size_t size_after = read_file(out).size();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(read_file(out).size(), size_after);
  kill(pid, SIGKILL);
  wait_exit(pid);
}

TEST(TraceCli, SigintDetachesCleanly) {
  std::string out = ::testing::TempDir() + "/pk_spin_int.txt";
  pid_t pid = spawn({target_path("pk_spin-nopie-O2"), "1"}, out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string before = text_snapshot(pid);
  std::string trace_out = ::testing::TempDir() + "/pk_trace_int.txt";
  pid_t tracer = spawn({probekit_path(), "trace", "-p", std::to_string(pid), "p:a.out:work"}, trace_out);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  kill(tracer, SIGINT);
  EXPECT_EQ(wait_exit(tracer, 20), 0);
  EXPECT_GT(count_lines(read_file(trace_out), "p_work_0"), 10u);
  EXPECT_TRUE(alive(pid));
  EXPECT_EQ(text_snapshot(pid), before);
  kill(pid, SIGKILL);
  wait_exit(pid);
}

TEST(TraceCli, AlreadyTracedSaysByWhomAndExits1) {
  std::string out1 = ::testing::TempDir() + "/pk_first_tracer.txt";
  std::string spin_out = ::testing::TempDir() + "/pk_spin_traced.txt";
  // The first tracer launches the target; the second tries to attach to it.
  pid_t first = spawn({probekit_path(), "trace", "-C", "-d", "3", "-o", out1, "-c",
                       target_path("pk_spin-pie-O2"), "p:a.out:work"},
                      spin_out);
  pid_t target = -1;
  for (int i = 0; i < 100 && target <= 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::string children = read_file("/proc/" + std::to_string(first) + "/task/" +
                                     std::to_string(first) + "/children");
    if (!children.empty()) target = std::stoi(children);
  }
  ASSERT_GT(target, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto r = run({probekit_path(), "trace", "-d", "1", "-p", std::to_string(target), "p:a.out:work"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("already traced by process " + std::to_string(first)), std::string::npos) << r.err;
  EXPECT_EQ(wait_exit(first, 20), 0);
  kill(target, SIGKILL);
}
