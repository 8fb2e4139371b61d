// The jump backend through the command line: counting probes of both front
// ends become jump probes (-v says so), with the same counts and output as
// the trap backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <thread>
#include <signal.h>
#include <unistd.h>
#include <map>
#include <set>
#include <regex>
#include <sstream>

#include "harness.h"

namespace probekit::testing {
namespace {

TEST(JumpCli, TraceCountTableIsTheSameWithEitherBackend) {
  const std::string cmd = target_path("pk_malloc-pie-O2") + " 4 3000";
  RunResult out[2];
  int i = 0;
  for (const char* b : {"--backend=jump", "--backend=trap"}) {
    out[i] = run({probekit_path(), "trace", "-C", "-v", b, "-c", cmd, "p:libc.so.6:malloc", "p:libc.so.6:free",
                  "p:a.out:run"});
    ASSERT_EQ(out[i].status, 0) << out[i].err;
    ++i;
  }
  EXPECT_EQ(out[0].out, out[1].out);
  EXPECT_NE(out[0].out.find("threads 4 calls 3000"), std::string::npos);
  EXPECT_GE(count_lines(out[0].err, ": jump, counted in the agent"), 2u) << out[0].err;
  EXPECT_EQ(count_lines(out[1].err, ": jump"), 0u) << out[1].err;
}

// Records: `probekit trace` definitions become jump probes whose arguments
// the agent captures at the hit; the same formatting code prints them.
// Only what cannot be the same differs: pids, CPUs and times.
std::string without_run_facts(std::string s) {
  s = normalize(s, R"(-[0-9]+ +\[[0-9]+\] +[0-9]+\.[0-9]+:)", "-PID [CPU] TIME:");
  s = normalize(s, R"re("(pid|tid|cpu|timestamp)":[0-9]+)re", "\"$1\":N");
  return s;
}

TEST(JumpCli, RecordedTraceOutputIsTheSameWithEitherBackend) {
  const std::string def =
      "p:a.out:process id=%di:s32 name=+0(%si):string c=+0(%si):u8 bad=+0(%dx):u64 sp=+0(%sp):symbol "
      "cm=$comm s=%si:string";
  for (const char* format : {"text", "json"}) {
    std::string out[2];
    int i = 0;
    for (const char* b : {"--backend=jump", "--backend=trap"}) {
      const std::string file = output_file(std::string("rec_") + format + b + ".txt");
      auto r = run({probekit_path(), "trace", "-v", b, "-f", format, "-o", file, "-c",
                    target_path("pk_args-pie-O2") + " 5", def});
      ASSERT_EQ(r.status, 0) << r.err;
      EXPECT_EQ(r.out, "sum 40000001350 total 50000000006.875\n");
      EXPECT_EQ(count_lines(r.err, ": jump, recorded in the agent"), i == 0 ? 1u : 0u) << r.err;
      out[i++] = without_run_facts(read_file(file));
    }
    EXPECT_EQ(count_lines(out[0], "p_process_0"), 5u) << out[0];
    EXPECT_EQ(out[0], out[1]);
    if (std::string(format) == "text") {
      EXPECT_NE(out[0].find("id=44 name=\"widget\" c=119 bad=(fault) sp=main+0x"), std::string::npos) << out[0];
    }
  }
}

TEST(JumpCli, RecordsReadAtSymbolArgumentsAsTrapHitsDo) {
  // @SYMBOL is resolved when the probe is added; the agent reads it.
  std::string out[2];
  int i = 0;
  for (const char* b : {"--backend=jump", "--backend=trap"}) {
    const std::string file = output_file(std::string("rec_sym") + b + ".txt");
    auto r = run({probekit_path(), "trace", "-v", b, "-o", file, "-c", target_path("pk_basic-pie-O2") + " 1 3",
                  "p:a.out:work x=@total:s64 c=@calls:s64 p=@calls:symbol"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(count_lines(r.err, ": jump, recorded in the agent"), i == 0 ? 1u : 0u) << r.err;
    out[i++] = without_run_facts(read_file(file));
  }
  EXPECT_EQ(count_lines(out[0], "x=0 c=3 p="), 3u) << out[0];
  EXPECT_EQ(out[0], out[1]);
}

TEST(JumpCli, ThreadedRecordsAreExactAndInOrderPerThread) {
  const std::string file = output_file("rec_threads.txt");
  auto r = run({probekit_path(), "trace", "--backend=jump", "-o", file, "-c", target_path("pk_basic-pie-O2") + " 4 2000",
                "p:a.out:work x=%di:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("drop"), std::string::npos) << r.err;
  // Every thread's calls, each once, in its own order; times never go back.
  std::map<std::string, long> next;
  std::string last_time;
  std::istringstream in(read_file(file));
  size_t lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(-([0-9]+) +\[[0-9]+\] +([0-9]+\.[0-9]+): p_work_0: \(work\+0x0\) x=([0-9]+)$)")))
        << line;
    EXPECT_EQ(std::stol(m[3]), next[m[1]]++) << line;
    ASSERT_GE(std::stod(m[2]), last_time.empty() ? 0.0 : std::stod(last_time)) << line;
    last_time = m[2];
  }
  EXPECT_EQ(lines, 8000u);
  EXPECT_EQ(next.size(), 4u);
}

TEST(JumpCli, RecordsFollowForkAndVforkExecChildrenWithTheirOwnPids) {
  // A fork child writes its records with its own pid (its identity page);
  // a vfork child that execs gets a fresh agent in its new image.
  for (const char* mode : {"fork", "vfork"}) {
    std::vector<std::string> lines[2];
    std::set<std::string> pids[2];
    int i = 0;
    for (const char* b : {"--backend=jump", "--backend=trap"}) {
      const std::string file = output_file(std::string("rec_fork_") + mode + b + ".txt");
      auto r = run({probekit_path(), "trace", b, "-o", file, "-c", target_path("pk_fork-pie-O2") + " " + mode,
                    "p:a.out:work x=%di:s64"});
      ASSERT_EQ(r.status, 0) << r.err;
      std::istringstream in(read_file(file));
      for (std::string line; std::getline(in, line);) {
        std::smatch m;
        ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(-([0-9]+) +\[[0-9]+\] +[0-9.]+: (.*)$)"))) << line;
        pids[i].insert(m[1]);
        lines[i].push_back(m[2]);
      }
      std::sort(lines[i].begin(), lines[i].end());
      ++i;
    }
    EXPECT_EQ(lines[0], lines[1]) << mode;
    EXPECT_EQ(pids[0].size(), 2u) << mode;
    EXPECT_GE(lines[0].size(), 9u) << mode;
  }
}

TEST(JumpCli, LostRecordsAreCountedAndReportedAsDTraceDoes) {
  // Far more records than the tracer can format while the program runs:
  // whatever is not printed is reported as dropped, to the record.
  const std::string file = output_file("rec_drops.txt");
  auto r = run({probekit_path(), "trace", "--backend=jump", "-o", file, "-c", target_path("pk_basic-pie-O2") + " 2 400000",
                "p:a.out:work x=%di:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  uint64_t dropped = 0;
  std::smatch m;
  std::string err = r.err;
  while (std::regex_search(err, m, std::regex(R"(probekit: ([0-9]+) drops? on CPU [0-9]+\n)"))) {
    dropped += std::stoull(m[1]);
    err = m.suffix();
  }
  EXPECT_EQ(count_lines(read_file(file), "p_work_0") + dropped, 800000u) << r.err;
}

// --hands-off: with only jump probes the program runs untraced (no ptrace
// stop at all); run() takes it back before detaching.
TEST(JumpCli, HandsOffCountsAndRecordsExactlyWithoutATracer) {
  auto r = run({probekit_path(), "trace", "-C", "--hands-off", "-c", target_path("pk_basic-pie-O2") + " 4 100000",
                "p:a.out:work"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("probekit/p_work_0                                     400000               0"),
            std::string::npos)
      << r.out;
  // Records of threads created after the hand-off, each in its own order.
  const std::string file = output_file("handsoff_records.txt");
  r = run({probekit_path(), "trace", "--hands-off", "-o", file, "-c", target_path("pk_basic-pie-O2") + " 4 2000",
           "p:a.out:work x=%di:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, long> next;
  std::istringstream in(read_file(file));
  size_t lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(-([0-9]+) +\[[0-9]+\] +[0-9.]+: p_work_0: \(work\+0x0\) x=([0-9]+)$)")))
        << line;
    EXPECT_EQ(std::stol(m[2]), next[m[1]]++) << line;
  }
  EXPECT_EQ(lines, 8000u);
  EXPECT_EQ(next.size(), 4u);
}

TEST(JumpCli, HandsOffLeavesTheProgramUntracedWhileItRuns) {
  const std::string out = ::testing::TempDir() + "/handsoff_spin.txt";
  const std::string spin_out = ::testing::TempDir() + "/handsoff_spin_target.txt";
  ::unlink(out.c_str());
  ::unlink(spin_out.c_str());  // a previous run's output would pass for this one's
  pid_t target = spawn({target_path("pk_spin-pie-O2"), "2"}, spin_out);
  for (int i = 0; i < 100 && read_file(spin_out).size() < 8; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string text = text_snapshot(target);
  pid_t pk = spawn({probekit_path(), "trace", "--hands-off", "-d", "1.5", "-p", std::to_string(target),
                    "p:a.out:work x=%di:s64"},
                   out);
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  EXPECT_EQ(status_field(target, "TracerPid"), "0");  // running hands-off
  EXPECT_NE(text_snapshot(target), text);             // with its jmp in place
  EXPECT_EQ(wait_exit(pk, 30), 0);
  EXPECT_EQ(text_snapshot(target), text);  // taken back, restored, detached
  EXPECT_EQ(status_field(target, "TracerPid"), "0");
  EXPECT_GT(count_lines(read_file(out), "p_work_0"), 10u);
  ::kill(target, SIGKILL);
  wait_exit(target);
}

TEST(JumpCli, ForcedJumpSaysWhyAProbeCannotBeOne) {
  auto r = run({probekit_path(), "trace", "-C", "--backend=jump", "-c", target_path("pk_insns-pie-O2") + " 1",
                "p:a.out:f_call"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("cannot place a jump probe at 'f_call': 'call"), std::string::npos) << r.err;
}

TEST(JumpCli, DCountingClausesRunAsJumpProbesWithExactCounts) {
  const std::string prog =
      "pid$target:a.out:work:entry { @[probefunc] = count(); @all = count(); }\n"
      "END { printa(\"%s %@d\\n\", @); printa(\"all %@d\\n\", @all); }";
  RunResult out[2];
  int i = 0;
  for (const char* b : {"backend=jump", "backend=trap"}) {
    out[i] = run({probekit_path(), "-q", "-v", "-x", b, "-n", prog, "-c", target_path("pk_basic-pie-O2") + " 4 5000"});
    ASSERT_EQ(out[i].status, 0) << out[i].err;
    ++i;
  }
  EXPECT_NE(out[0].out.find("work 20000\n"), std::string::npos) << out[0].out;
  EXPECT_NE(out[0].out.find("all 20000\n"), std::string::npos) << out[0].out;
  EXPECT_EQ(out[0].out, out[1].out);
  EXPECT_EQ(count_lines(out[0].err, ": jump, counted in the agent"), 1u) << out[0].err;
}

TEST(JumpCli, DClausesThatReadNoMemoryRunOnRecordsWithTheSameOutput) {
  // Predicates, aggregations, self-> and printf of registers and probe
  // builtins run in the tracer on records: the same output as trap hits.
  // (strstr() is a string function only the tracer has: it keeps the
  // clauses, which share self->n, out of the agent.)
  const std::string prog =
      "pid$target:a.out:work:entry /arg0 % 3 == 0/ { @[tid == pid ? \"main\" : \"thread\"] = count(); "
      "@s = sum(arg0); @q = quantize(arg0); self->n++; }\n"
      "pid$target:a.out:work:entry /arg0 == 7/ { printf(\"%s %d %d\\n\", strstr(execname, \"\"), arg0, self->n); }\n"
      "END { printa(@s); printa(@q); }";
  RunResult out[2];
  int i = 0;
  for (const char* b : {"backend=jump", "backend=trap"}) {
    const std::string file = output_file(std::string("d_rec_") + b + ".txt");
    out[i] = run({probekit_path(), "-q", "-v", "-x", b, "-o", file, "-n", prog, "-c",
                  target_path("pk_basic-pie-O2") + " 2 3000"});
    ASSERT_EQ(out[i].status, 0) << out[i].err;
    out[i].out = read_file(file);
    ++i;
  }
  EXPECT_EQ(out[0].out, out[1].out);
  EXPECT_NE(out[0].out.find("pk_basic-pie-O2 7 3\n"), std::string::npos) << out[0].out;
  EXPECT_EQ(count_lines(out[0].err, ": jump, recorded in the agent"), 1u) << out[0].err;
  EXPECT_EQ(count_lines(out[1].err, ": jump"), 0u) << out[1].err;
}

TEST(JumpCli, DCopyinstrOfAnArgumentIsReadByTheAgent) {
  // copyinstr(arg1): the agent reads the string rsi points to at the hit
  // into the record (strstr(), which only the tracer has, keeps the clause
  // on records).
  const std::string prog =
      "pid$target:a.out:process:entry { @[copyinstr(arg1)] = count(); printf(\"%d %s\\n\", arg0, "
      "strstr(copyinstr(arg1), \"\")); }";
  RunResult out[2];
  int i = 0;
  for (const char* b : {"backend=jump", "backend=trap"}) {
    const std::string file = output_file(std::string("d_str_") + b + ".txt");
    out[i] = run({probekit_path(), "-q", "-v", "-x", b, "-o", file, "-n", prog, "-c", target_path("pk_args-pie-O2") + " 3"});
    ASSERT_EQ(out[i].status, 0) << out[i].err;
    out[i].out = read_file(file);
    ++i;
  }
  EXPECT_EQ(out[0].out, out[1].out);
  EXPECT_NE(out[0].out.find("43 widget\n"), std::string::npos) << out[0].out;
  EXPECT_NE(out[0].out.find("widget                                                            3"), std::string::npos)
      << out[0].out;
  EXPECT_EQ(count_lines(out[0].err, ": jump, recorded in the agent"), 1u) << out[0].err;
}

TEST(JumpCli, DClauseThatReadsTargetMemoryStaysATrapProbe) {
  // copyin() copies target memory into scratch space the agent does not have.
  auto r = run({probekit_path(), "-q", "-v", "-n",
                "pid$target:a.out:work:entry /arg0 < 10/ { @ = count(); @s[*(uint64_t *)copyin(uregs[R_SP], 8) != 0] = "
                "count(); }",
                "-c",
                target_path("pk_basic-pie-O2") + " 2 100"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.err, ": jump"), 0u) << r.err;
  EXPECT_NE(r.out.find("20"), std::string::npos) << r.out;
}

// D in the agent: predicates, self-> variables and aggregations run where
// the probe fires; the output is the trap backend's, byte for byte.
TEST(JumpCli, DClausesRunInTheAgentWithExactThreadLocalsAndAggregations) {
  const std::string prog =
      "pid$target:a.out:work:entry { self->c++; @s[probefunc] = sum(arg0); @m = max(self->c); @t = count(); }\n"
      "pid$target:a.out:work:entry /arg0 % 100 == 7 && self->c > 1/ { @q = quantize(arg0); @l = lquantize(self->c, 0, 3000, 500); "
      "@ll = llquantize(arg0 * self->c, 10, 2, 8, 20); }\n";
  RunResult out[2];
  int i = 0;
  for (const char* b : {"backend=auto", "backend=trap"}) {
    out[i] = run({probekit_path(), "-q", "-v", "-x", b, "-n", prog, "-c", target_path("pk_basic-pie-O2") + " 4 3000"});
    ASSERT_EQ(out[i].status, 0) << out[i].err;
    ++i;
  }
  EXPECT_EQ(out[0].out, out[1].out);
  EXPECT_NE(out[0].out.find("threads 4 calls 3000 total 36000000"), std::string::npos) << out[0].out;
  EXPECT_NE(out[0].out.find("  work                                                       17994000\n"), std::string::npos)
      << out[0].out;
  EXPECT_NE(out[0].out.find("\n             3000\n"), std::string::npos) << out[0].out;   // max(self->c): per thread
  EXPECT_NE(out[0].out.find("\n            12000\n"), std::string::npos) << out[0].out;  // count()
  EXPECT_EQ(count_lines(out[0].err, ": jump, D clauses run in the agent"), 1u) << out[0].err;
  EXPECT_EQ(count_lines(out[0].err, ") runs in the agent"), 2u) << out[0].err;
  EXPECT_EQ(count_lines(out[1].err, ": jump"), 0u) << out[1].err;
}

TEST(JumpCli, DAgentCodeRunsInTheTracerWhereNoJumpSiteCanBe) {
  // f_ret is one `ret`: no room for a jmp. Its clause state (self->n, the
  // aggregations) is the one the jump sites of f_lea and f_cmp update.
  const std::string prog =
      "pid$target:a.out:f_ret:entry, pid$target:a.out:f_lea:entry, pid$target:a.out:f_cmp:entry "
      "{ self->n++; @c[probefunc] = count(); @n[probefunc] = max(self->n); }\n"
      "pid$target:a.out:f_lea:entry /self->n % 7 == 0/ { @seven = count(); @a = quantize(arg0); }\n";
  RunResult out[2];
  int i = 0;
  for (const char* b : {"backend=auto", "backend=trap"}) {
    out[i] = run({probekit_path(), "-q", "-v", "-x", b, "-n", prog, "-c", target_path("pk_insns-pie-O2") + " 500"});
    ASSERT_EQ(out[i].status, 0) << out[i].err;
    ++i;
  }
  EXPECT_EQ(out[0].out, out[1].out);
  EXPECT_NE(out[0].out.find("  f_ret                                                          1500\n"), std::string::npos)
      << out[0].out;
  EXPECT_EQ(count_lines(out[0].err, ": jump, D clauses run in the agent"), 2u) << out[0].err;
}

TEST(JumpCli, DClausesSharingStateWithATracerClauseStayInProbekit) {
  const std::string prog =
      "pid$target:a.out:work:entry { self->ts = timestamp; @n = count(); }\n"
      "pid$target:a.out:work:entry /self->ts/ { printf(\"%d %s\\n\", arg0, toupper(probefunc)); }\n";
  const std::string file = output_file("d_shared_state.txt");  // records print when drained
  auto r = run({probekit_path(), "-q", "-v", "-o", file, "-n", prog, "-c", target_path("pk_basic-pie-O2") + " 1 3"});
  ASSERT_EQ(r.status, 0) << r.err;
  r.out = read_file(file);
  EXPECT_NE(r.err.find("clause 1 (line 1) runs in probekit: self->ts is also used by a clause that runs in the tracer"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("clause 2 (line 2) runs in probekit: a string other than a literal, execname, the "
                       "probe's names, copyinstr(ADDR), strjoin(), substr() or a string variable"),
            std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err, "D clauses run in the agent"), 0u) << r.err;
  EXPECT_NE(r.out.find("0 WORK\n1 WORK\n2 WORK\n"), std::string::npos) << r.out;
}

// A function whose second instruction another function jumps to (glibc's
// __mempcpy_* into __memcpy_*+3), and one of 4 bytes: a 2-byte jmp to a
// hop in the alignment padding nearby. Counts and D results as trap's.
TEST(JumpCli, HopSitesCountExactlyAsTrapProbesDo) {
  for (const char* build : {"pk_hop-pie-O2", "pk_hop-nopie-O0"}) {
    SCOPED_TRACE(build);
    const std::string cmd = target_path(build) + " 3000";
    RunResult out[2], d[2];
    int i = 0;
    for (const char* b : {"auto", "trap"}) {
      out[i] = run({probekit_path(), "trace", "-C", "-v", std::string("--backend=") + b, "-c", cmd,
                    "p:a.out:hop_target", "p:a.out:hop_alias", "p:a.out:hop_short"});
      ASSERT_EQ(out[i].status, 0) << out[i].err;
      d[i] = run({probekit_path(), "-q", "-v", "-x", std::string("backend=") + b, "-n",
                  "pid$target:a.out:hop_*:entry /arg0 % 3 != 1/ { @[probefunc] = sum(arg0); @n[probefunc] = count(); }",
                  "-c", cmd});
      ASSERT_EQ(d[i].status, 0) << d[i].err;
      ++i;
    }
    EXPECT_EQ(out[0].out, out[1].out);
    EXPECT_NE(out[0].out.find("target 4501500 alias 4507500 short 4504500"), std::string::npos) << out[0].out;
    EXPECT_NE(out[0].out.find("probekit/p_hop_target_0                                 3000"), std::string::npos)
        << out[0].out;
    EXPECT_EQ(count_lines(out[0].err, ": jump, counted in the agent (via a hop at "), 2u) << out[0].err;
    EXPECT_EQ(d[0].out, d[1].out);
    EXPECT_NE(d[0].out.find("  hop_short                                                      2000"), std::string::npos)
        << d[0].out;
    EXPECT_EQ(count_lines(d[0].err, ": jump, D clauses run in the agent (via a hop at "), 2u) << d[0].err;
  }
}

}  // namespace
}  // namespace probekit::testing

namespace probekit::testing {
namespace {

// ---- Destructive actions at jump speed (issue 8): --fail, override(), raise() ----

std::string fail_target() { return target_path("pk_ret-pie-O2"); }

// "fail: F of C calls failed": the failures the program itself saw.
long failures_seen(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(fail: (\d+) of (\d+) calls failed)"))) return -1;
  return std::stol(m[1]);
}

TEST(JumpCli, FailOverridesEveryCallInTheAgentAsTheTrapBackendDoes) {
  for (const char* b : {"--backend=jump", "--backend=trap"}) {
    auto r = run({probekit_path(), "trace", "-w", "-v", b, "--fail", "try_op=-5", "-c", fail_target() + " fail 2500"});
    ASSERT_EQ(r.status, 0) << b << "\n" << r.err;
    EXPECT_NE(r.out.find("fail: 10000 of 10000 calls failed\n"), std::string::npos) << b;
    EXPECT_EQ(count_lines(r.out, ": (try_op+0x0) retval=-5"), 10000u) << b;
    EXPECT_EQ(count_lines(r.err, "probekit/fail_try_op: site try_op: jump, overridden and recorded in the agent"),
              std::string(b) == "--backend=jump" ? 1u : 0u)
        << r.err;
  }
}

// An entry probe beside --fail on the same function: the two cannot share
// one jump, so both are trap probes; -v says why, and every call is still
// both recorded and overridden.
TEST(JumpCli, AnEntryProbeBesideAFailSaysWhyBothAreTrapProbes) {
  auto r = run({probekit_path(), "trace", "-w", "-v", "--fail", "try_op=-5", "-c", fail_target() + " fail 25",
                "p:a.out:try_op x=%di:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("fail: 100 of 100 calls failed\n"), std::string::npos) << r.out;
  EXPECT_EQ(count_lines(r.out, ": (try_op+0x0) retval=-5"), 100u);
  EXPECT_EQ(count_lines(r.out, ": (try_op+0x0) x="), 100u);
  EXPECT_EQ(count_lines(r.err, "not a jump probe: a probe at the same address overrides the function"), 2u) << r.err;
}

// 30% of 10,000 calls on 4 threads, sampled by each thread's generator in
// the agent: the program's own count of failures is exactly probekit's
// count of events, and within 6 standard deviations of 3,000.
TEST(JumpCli, FailSamplesAPercentOfTheCallsAndReportsEachOne) {
  for (const char* b : {"--backend=jump", "--backend=trap"}) {
    auto r = run({probekit_path(), "trace", "-w", b, "--fail", "try_op=-5@30", "-c", fail_target() + " fail 2500"});
    ASSERT_EQ(r.status, 0) << b << "\n" << r.err;
    const long seen = failures_seen(r.out);
    const long events = static_cast<long>(count_lines(r.out, ": (try_op+0x0) retval=-5"));
    EXPECT_EQ(seen, events) << b;
    EXPECT_LE(std::labs(events - 3000), 275) << b << ": " << events;  // 6 * sqrt(10000 * 0.3 * 0.7)
  }
  // -C: every call counted, overridden or not, as the trap backend counts them.
  auto c = run({probekit_path(), "trace", "-w", "-C", "--backend=jump", "--fail", "try_op=-5@30", "-c",
                fail_target() + " fail 2500"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(std::regex_search(c.out, std::regex(R"(probekit/fail_try_op\s+10000\b)"))) << c.out;
  EXPECT_GT(failures_seen(c.out), 2700);
}

// A return probe on an overridden function: the overridden calls never
// return through the function (the trap backend's ret sites never see
// them, and the agent does not hijack their return address), the others do.
TEST(JumpCli, FailAndAReturnProbeOnTheSameFunctionFireAsUnderTheTrapBackend) {
  for (const char* b : {"--backend=jump", "--backend=trap"}) {
    auto r = run({probekit_path(), "trace", "-w", "-v", b, "--fail", "try_op=-5@30", "-c", fail_target() + " fail 2500",
                  "r:a.out:try_op ret=$retval:s64"});
    ASSERT_EQ(r.status, 0) << b << "\n" << r.err;
    const long seen = failures_seen(r.out);
    EXPECT_EQ(static_cast<long>(count_lines(r.out, ": (try_op+0x0) retval=-5")), seen) << b;
    EXPECT_EQ(static_cast<long>(count_lines(r.out, "<- try_op) ret=")), 10000 - seen) << b;
    EXPECT_EQ(count_lines(r.out, "<- try_op) ret=-5"), 0u) << b;
  }
}

TEST(JumpCli, FailSiteIsTakenOutAtDetachWithEveryByteRestored) {
  const std::string out = ::testing::TempDir() + "/fail_spin.txt";
  const std::string spin_out = ::testing::TempDir() + "/fail_spin_target.txt";
  ::unlink(out.c_str());
  ::unlink(spin_out.c_str());
  pid_t target = spawn({target_path("pk_spin-pie-O2"), "2"}, spin_out);
  for (int i = 0; i < 100 && read_file(spin_out).size() < 8; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string text = text_snapshot(target);
  pid_t pk = spawn({probekit_path(), "trace", "-w", "-v", "-d", "1", "-p", std::to_string(target), "--fail", "work=7@50"},
                   out);
  EXPECT_EQ(wait_exit(pk, 30), 0);
  EXPECT_EQ(text_snapshot(target), text);  // the jmp taken out, every byte back
  EXPECT_GT(count_lines(read_file(out), "fail_work: (work+0x0) retval=7"), 10u);
  EXPECT_TRUE(alive(target));
  ::kill(target, SIGKILL);
  wait_exit(target);
}

// D's override() and raise() run in the agent (-v says so) with the
// program's output and probekit's identical to the trap backend's.
RunResult d_destructive(const std::string& backend, const std::string& prog, const std::string& args) {
  return run({probekit_path(), "-q", "-w", "-v", "-x", backend, "-n", prog, "-c", fail_target() + " " + args});
}

TEST(JumpCli, DOverrideAtEntryAndReturnRunsInTheAgentAsTheTrapBackendDoes) {
  const std::string prog =
      "pid$target:a.out:try_op:entry /arg0 % 3 == 0/ { override(-3); @n[\"entry\"] = count(); }\n"
      "pid$target:a.out:try_op:return /arg1 == 5/ { override(-2); @n[\"return\"] = count(); }\n";
  auto jump = d_destructive("backend=auto", prog, "fail 2500");
  auto trap = d_destructive("backend=trap", prog, "fail 2500");
  ASSERT_EQ(jump.status, 0) << jump.err;
  ASSERT_EQ(trap.status, 0) << trap.err;
  EXPECT_EQ(jump.out, trap.out);
  // x % 3 == 0 for 3334 of the 10,000 arguments; (x & 7) == 5 for 834 of
  // the others, overridden at their return.
  EXPECT_NE(jump.out.find("fail: 4168 of 10000 calls failed\n"), std::string::npos) << jump.out;
  EXPECT_TRUE(std::regex_search(jump.out, std::regex(R"(entry\s+3334\n)"))) << jump.out;
  EXPECT_EQ(count_lines(jump.err, ") runs in the agent"), 2u) << jump.err;
  EXPECT_EQ(count_lines(trap.err, ") runs in the agent"), 0u) << trap.err;
}

TEST(JumpCli, DRaiseInTheAgentSignalsTheHittingThreadAsTheTrapBackendDoes) {
  const std::string prog = "pid$target:a.out:signal_point:entry /arg0 % 50 == 1/ { raise(10); }";  // SIGUSR1
  auto jump = d_destructive("backend=auto", prog, "raise 500");
  auto trap = d_destructive("backend=trap", prog, "raise 500");
  ASSERT_EQ(jump.status, 0) << jump.err;
  ASSERT_EQ(trap.status, 0) << trap.err;
  EXPECT_EQ(jump.out, trap.out);
  // Arguments i + t (t the thread 0..3, i < 500): 40 of the 2000 are 1 mod 50.
  EXPECT_NE(jump.out.find("40 signals, 40 on the calling thread\n"), std::string::npos) << jump.out;
  EXPECT_EQ(count_lines(jump.err, ") runs in the agent"), 1u) << jump.err;
}

}  // namespace
}  // namespace probekit::testing
