// Return probes at jump speed (engine/return_probes.h, "jump mode"): a
// `probekit trace` return probe whose arguments the agent can capture is
// hijacked by the agent (no ptrace stop per call) and prints exactly what
// the trap backend prints for the same program: tail calls, recursion,
// threads, fork, longjmp and C++ exceptions through probed frames.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "harness.h"

namespace probekit::testing {
namespace {

// Pids, CPUs and times differ between two runs; threads interleave
// differently: the lines are compared sorted, with those facts blanked.
std::string sorted_lines(std::string s) {
  s = normalize(s, R"(-[0-9]+ +\[[0-9]+\] +[0-9]+\.[0-9]+:)", "-PID [CPU] TIME:");
  std::istringstream in(s);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

struct Case {
  std::string target;
  std::string args;
  std::vector<std::string> defs;
  std::string program_out; // what the program prints (traced or not)
  std::string needle;      // a line of the expected output
  size_t lines;            // return events
  size_t trap_defs = 0;    // definitions whose entry cannot take a jmp (under --backend=auto)
};

TEST(RetJumpCli, ReturnOutputIsTheSameWithEitherBackend) {
  const std::vector<Case> cases = {
      // fib(12), recursion 12 deep (GCC turns one of fib's two calls into a
      // loop: 233 calls).
      {"pk_ret-pie-O2",
       "fib 12",
       {"r:a.out:fib ret=$retval:s64"},
       "fib 12 = 144\n",
       "(main+0x",
       233},
      // Tail calls: tail_a jmp tail_b jmp leaf at -O2; each reports what its
      // caller receives (leaf's value), not the value at the jmp.
      {"pk_ret-pie-O2",
       "tail 3",
       {"r:a.out:tail_a ret=$retval:s64", "r:a.out:tail_b ret=$retval:s64"},
       "tail 120\n",
       "(main+0x",
       6},
      // libc's strtol is a tail call into its worker: the real values.
      {"pk_ret-pie-O2",
       "strtol",
       {"r:libc.so.6:strtol ret=$retval:s64"},
       "strtol 1032792\n",
       "ret=-17",
       5},
      // Threads: 4 threads, each fib(10+id) once.
      {"pk_ret-pie-O2",
       "threads 1",
       {"r:a.out:fib ret=$retval:s64"},
       "threads total 521\n",
       "r_fib_0",
       89 + 144 + 233 + 377},
      // longjmp out of four probed frames, 5 times: those frames never return.
      {"pk_ret-pie-O2",
       "longjmp 5",
       {"r:a.out:dive ret=$retval:s64", "r:a.out:fib ret=$retval:s64"},
       "jumps 5 fib 8\n",
       "r_fib_0",
       13},
      // fork inside a probed function: both processes return from it.
      {"pk_ret-pie-O2", "fork", {"r:a.out:forker ret=$retval:s64"}, "", "ret=1003", 2},
      // A C++ exception through probed frames, rethrown, caught above them
      // (a call follows middle's first instruction: its jmp goes through a
      // hop in the padding before it).
      {"pk_ret_cxx-pie-O2",
       "10 guarded",
       {"r:a.out:thrower ret=$retval:s32", "r:a.out:middle ret=$retval:s32",
        "r:a.out:relay ret=$retval:s32", "r:a.out:guarded ret=$retval:s32"},
       "guarded sum 60 caught 4\n",
       "r_guarded_",
       6 + 6 + 6 + 10},
      // ... and caught in main, below every probed frame.
      {"pk_ret_cxx-pie-O2",
       "10",
       {"r:a.out:thrower ret=$retval:s32", "r:a.out:relay ret=$retval:s32"},
       "sum 60 caught 4 last bad 9\n",
       "r_relay_",
       6 + 6},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target + " " + c.args);
    std::vector<std::string> untraced = {target_path(c.target)};
    std::istringstream words(c.args);
    for (std::string w; words >> w;)
      untraced.push_back(w);
    const RunResult plain = run(untraced);
    std::string out[2];
    int i = 0;
    for (const char* b : {c.trap_defs ? "--backend=auto" : "--backend=jump", "--backend=trap"}) {
      const std::string file = output_file(std::string("retjump") + b + ".txt");
      std::vector<std::string> argv = {probekit_path(),
                                       "trace",
                                       "-v",
                                       b,
                                       "-o",
                                       file,
                                       "-c",
                                       target_path(c.target) + " " + c.args};
      argv.insert(argv.end(), c.defs.begin(), c.defs.end());
      auto r = run(argv);
      ASSERT_EQ(r.status, 0) << r.err;
      if (!c.program_out.empty()) {
        EXPECT_EQ(r.out, c.program_out);
      }
      EXPECT_EQ(r.out, plain.out); // byte-identical program output under tracing
      // Every return probe of the jump run is hijacked by the agent.
      if (i == 0) {
        EXPECT_GE(count_lines(r.err, ": jump, recorded in the agent at the return"),
                  c.defs.size() - c.trap_defs)
            << r.err;
        EXPECT_EQ(count_lines(r.err, "not a jump probe") > 0, c.trap_defs > 0) << r.err;
      } else {
        EXPECT_EQ(count_lines(r.err, ": jump"), 0u) << r.err;
      }
      out[i++] = sorted_lines(read_file(file));
    }
    EXPECT_EQ(out[0], out[1]);
    EXPECT_EQ(count_lines(out[0], "r_"), c.lines) << out[0];
    EXPECT_NE(out[0].find(c.needle), std::string::npos) << out[0];
  }
}

TEST(RetJumpCli, StrtolReportsTheValueItsCallerReceives) {
  const std::string file = output_file("retjump_strtol.txt");
  auto r = run({probekit_path(), "trace", "--backend=jump", "-o", file, "-c",
                target_path("pk_ret-pie-O2") + " strtol", "r:libc.so.6:strtol ret=$retval:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string all = read_file(file);
  for (const char* v : {"ret=42", "ret=-17", "ret=32767", "ret=1000000", "ret=0"}) {
    EXPECT_EQ(count_lines(all, v), 1u) << v << "\n" << all;
  }
  EXPECT_EQ(count_lines(all, "(main+0x"), 5u) << all;
}

// Detach while every thread is deep in a recursion whose frames are all
// hijacked: the real return addresses go back, the agent's areas go, and
// the program finishes with the output it prints untraced.
TEST(RetJumpCli, DetachInDeepRecursionLeavesTheOutputIntact) {
  const RunResult plain = run({target_path("pk_ret-pie-O2"), "deep", "400"});
  ASSERT_EQ(plain.status, 0);
  const std::string out = ::testing::TempDir() + "/retjump_deep_out.txt";
  pid_t target = spawn({target_path("pk_ret-pie-O2"), "deep", "400"}, out);
  const RunResult pk = run({probekit_path(), "trace", "-v", "--backend=jump", "-d", "0.4", "-p",
                            std::to_string(target), "r:a.out:deep ret=$retval:s64"});
  EXPECT_EQ(pk.status, 0) << pk.err;
  EXPECT_NE(pk.err.find(": jump, recorded in the agent at the return"), std::string::npos)
      << pk.err;
  EXPECT_EQ(pk.err.find("stay mapped"), std::string::npos) << pk.err;
  EXPECT_GT(count_lines(pk.out, "r_deep_0: (deep+0x"), 100u);
  EXPECT_EQ(wait_exit(target, 60), 0);
  EXPECT_EQ(read_file(out), plain.out);
  ::unlink(out.c_str());
}

// A thread's shadow stack holds 64 calls: deeper calls are not hijacked
// (missed, as kretprobes' maxactive), and the 64 outer ones still return
// through the agent with their values.
TEST(RetJumpCli, CallsDeeperThanTheShadowStackAreMissed) {
  const std::string file = output_file("retjump_depth.txt");
  auto r = run({probekit_path(), "trace", "--backend=jump", "-o", file, "-c",
                target_path("pk_ret-pie-O2") + " deep 3 100", "r:a.out:deep ret=$retval:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, run({target_path("pk_ret-pie-O2"), "deep", "3", "100"}).out);
  const std::string all = read_file(file);
  EXPECT_EQ(count_lines(all, "r_deep_0"), 3u * 64) << all;
  // The outermost call, deep(100), returns 1 + (1 + 2 + ... + 100).
  EXPECT_EQ(count_lines(all, "(main+0x"), 3u);
  EXPECT_EQ(count_lines(all, "ret=5051"), 3u);
  // The innermost hijacked call is deep(37): 1 + (1 + ... + 37) = 704.
  EXPECT_EQ(count_lines(all, "ret=704"), 3u);
  EXPECT_EQ(count_lines(all, "ret=667"), 0u); // deep(36): not hijacked
}

// A recursion 1,000 deep under an entry and a return probe: every entry
// fires, the 64 outermost calls return through the agent (the shadow
// stack's depth) with their values, the 936 inner ones return to their
// callers untouched, and the program prints what it prints untraced.
TEST(RetJumpCli, ARecursionAThousandDeepUnderEntryAndReturnProbes) {
  const std::string target = target_path("pk_ret-pie-O2") + " deep 2 1000";
  auto r = run({probekit_path(), "-q", "-v", "-n",
                "pid$target:a.out:deep:entry { self->d++; @e = count(); }\n"
                "pid$target:a.out:deep:return { @r = count(); @s = sum(arg1); self->d--; }\n"
                "END { printa(\"e %@d\\n\", @e); printa(\"r %@d\\n\", @r); printa(\"s %@d\\n\", @s); }",
                "-c", target});
  ASSERT_EQ(r.status, 0) << r.err;
  const RunResult plain = run({target_path("pk_ret-pie-O2"), "deep", "2", "1000"});
  ASSERT_EQ(plain.status, 0);
  long sum = 0;  // deep(d) returns 1 + (1 + ... + d); the hijacked ones: deep(1000) .. deep(937)
  for (long d = 937; d <= 1000; ++d) sum += 1 + d * (d + 1) / 2;
  EXPECT_EQ(r.out, plain.out + "e 2002\nr 128\ns " + std::to_string(2 * sum) + "\n\n");
  EXPECT_EQ(count_lines(r.err, ": jump, D clauses run in the agent at the return"), 1u) << r.err;
}

// Hands-off: a return probe the agent runs needs no stop, so the program
// runs with no tracer; its threads sleep inside clock_nanosleep with the
// agent's trampoline for a return address when probekit takes them back.
TEST(RetJumpCli, HandsOffWithAReturnProbe) {
  const std::string out = ::testing::TempDir() + "/retjump_handsoff.txt";
  const std::string spin_out = ::testing::TempDir() + "/retjump_handsoff_target.txt";
  ::unlink(out.c_str());
  ::unlink(spin_out.c_str());
  pid_t target = spawn({target_path("pk_spin-pie-O2"), "2"}, spin_out);
  for (int i = 0; i < 100 && read_file(spin_out).size() < 8; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::string libc = text_snapshot(target, "libc.so.6");
  pid_t pk = spawn({probekit_path(), "trace", "--hands-off", "-d", "3", "-p",
                    std::to_string(target), "r:libc.so.6:clock_nanosleep ret=$retval:s64"},
                   out);
  // Set-up takes a while under ASAN on a loaded machine: wait (at most the
  // 3 s of -d) until the program runs hands-off with its text patched.
  bool hands_off = false;
  for (int i = 0; i < 250 && !hands_off; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    hands_off = status_field(target, "TracerPid") == "0" && text_snapshot(target, "libc.so.6") != libc;
  }
  EXPECT_TRUE(hands_off) << "TracerPid " << status_field(target, "TracerPid");
  EXPECT_EQ(wait_exit(pk, 30), 0);
  EXPECT_EQ(text_snapshot(target, "libc.so.6"), libc); // taken back, restored, detached
  EXPECT_GT(count_lines(read_file(out), "(nanosleep+0x"), 100u);
  EXPECT_EQ(count_lines(read_file(out), " ret=0"), count_lines(read_file(out), "(nanosleep+0x"));
  const size_t size = read_file(spin_out).size();
  for (int i = 0; i < 200 && read_file(spin_out).size() == size; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GT(read_file(spin_out).size(), size) << "not running";
  ::kill(target, SIGKILL);
  wait_exit(target);
}

// An entry probe and a return probe on one function share one jmp: its
// trampoline records the entry, then hijacks the return (whichever probe
// came first), with the output of the trap backend.
TEST(RetJumpCli, EntryAndReturnOnOneFunction) {
  for (const auto& defs :
       {std::vector<std::string>{"p:a.out:fib n=%di:s64", "r:a.out:fib ret=$retval:s64"},
        std::vector<std::string>{"r:a.out:fib ret=$retval:s64", "p:a.out:fib n=%di:s64"}}) {
    std::string out[2];
    int i = 0;
    for (const char* b : {"--backend=jump", "--backend=trap"}) {
      const std::string file = output_file(std::string("retjump_both") + b + ".txt");
      std::vector<std::string> argv = {probekit_path(),
                                       "trace",
                                       "-v",
                                       b,
                                       "-o",
                                       file,
                                       "-c",
                                       target_path("pk_ret-pie-O2") + " fib 8"};
      argv.insert(argv.end(), defs.begin(), defs.end());
      auto r = run(argv);
      ASSERT_EQ(r.status, 0) << r.err;
      EXPECT_EQ(r.out, "fib 8 = 21\n");
      if (i == 0) {
        EXPECT_NE(r.err.find("site fib: jump, recorded in the agent"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("fib: jump, recorded in the agent at the return"), std::string::npos)
            << r.err;
      }
      out[i++] = sorted_lines(read_file(file));
    }
    EXPECT_EQ(out[0], out[1]);
    EXPECT_EQ(count_lines(out[0], "r_fib_"), 34u) << out[0];
    EXPECT_EQ(count_lines(out[0], "p_fib_"), 34u) << out[0];
  }
}

// D return clauses in the agent: the return side of the shadow-stack hijack
// runs the clauses (arg1/retval the return value, self-> shared with the
// entry's clauses); the output is the trap backend's, byte for byte.
struct DCase {
  std::string target, args, program;
  std::string needle;    // in the output
  size_t agent_returns;  // functions whose return clauses run in the agent (jump run, -v)
  size_t tracer_returns; // functions whose return probe stays a trap probe (arg0 with several exits)
};

TEST(RetJumpCli, DReturnClausesRunInTheAgentWithTheTrapBackendsOutput) {
  const std::vector<DCase> cases = {
      // Recursion: self->d counts the depth at entry, the returns read it.
      {"pk_ret-pie-O2", "fib 12",
       "pid$target:a.out:fib:entry { self->d++; @calls = count(); }\n"
       "pid$target:a.out:fib:return { @r[arg1] = count(); @depth = max(self->d); self->d--; @s = sum(retval); }",
       "\n              144                1\n", 1, 0},
      // Threads: a latency-style pair, per thread.
      {"pk_ret-pie-O2", "threads 1",
       "pid$target:a.out:fib:entry { self->ts = timestamp; }\n"
       "pid$target:a.out:fib:return /self->ts && timestamp >= self->ts/ { @n[tid == pid] = count(); "
       "@q = quantize(arg1); self->ts = 0; }",
       "\n        0              322\n", 1, 0},
      // Tail calls report what the caller receives (leaf's value).
      {"pk_ret-pie-O2", "tail 3",
       "pid$target:a.out:tail_a:return, pid$target:a.out:tail_b:return { @[probefunc, arg1] = count(); }",
       "  tail_a                                                           50                1\n", 2, 0},
      // arg0 at a return: impl has one `ret` (a constant offset, in the
      // agent); wrapper leaves by a tail call into it.
      {"pk_ret-pie-O2", "wrap 4",
       "pid$target:a.out:impl:return { @i[arg0, arg1] = count(); } pid$target:a.out:wrapper:return { @w[arg1] = count(); }",
       "\n                5              -97                1\n", 2, 0},
      // classify has several `ret`s: its clause reads arg0, so its returns
      // run the same code in probekit, at each ret site.
      {"pk_ret-pie-O2", "paths", "pid$target:a.out:classify:return { @[arg0 > 0, arg1] = count(); }",
       "\n        1              203                1\n", 0, 1},
      // longjmp out of probed frames: they never return.
      {"pk_ret-pie-O2", "longjmp 5",
       "pid$target:a.out:dive:return, pid$target:a.out:fib:return { @[probefunc] = count(); @v[probefunc] = sum(arg1); }",
       "  fib                                                              13\n", 2, 0},
      // A C++ exception through probed frames, caught above them.
      {"pk_ret_cxx-pie-O2", "10 guarded",
       "pid$target:a.out:thrower:return, pid$target:a.out:middle:return, pid$target:a.out:relay:return, "
       "pid$target:a.out:guarded:return { @[probefunc, (int)arg1] = count(); }",
       "  guarded                                                  -1                4\n", 4, 0},
      // Arguments on the stack (the 7th and 8th) read at the entry, and
      // the function reading them itself, while a return point holds the
      // slot of the return address (the entry trampoline called it).
      {"pk_ret-pie-O2", "stackargs 4",
       "pid$target:a.out:many:entry { self->g = arg6; self->h = arg7; }\n"
       "pid$target:a.out:many:return { @[self->g, self->h, arg1] = count(); }",
       "\n                9               10          1009073                1\n", 1, 0},
      // Four threads, an entry and a return clause each: exact counts.
      {"pk_ret-pie-O2", "threads 2",
       "pid$target:a.out:fib:entry { self->n++; @e = count(); }\n"
       "pid$target:a.out:fib:return { @r = count(); @s = sum(arg1); self->n--; }",
       "\n             1686\n             1686\n             6456\n", 1, 0},
      // fork inside a probed function: both processes return from it.
      {"pk_ret-pie-O2", "fork", "pid$target:a.out:forker:return { @[arg1] = count(); }", "\n             1003                1\n", 1,
       0},
      // The agent keeps a thread's slot with its shadow stack (agent.c
      // shadow_thread): the fork child inherits the parent's copy, and its
      // returns must find its own slot (self->n unset there), not use the
      // parent's.
      {"pk_ret-pie-O2", "forkself",
       "pid$target:a.out:forker:entry, pid$target:a.out:fib:entry { self->n++; }\n"
       "pid$target:a.out:forker:return, pid$target:a.out:fib:return { @[probefunc, arg1 >= 1000, self->n] = count(); }",
       "  forker                                                    1                0                1\n", 2, 0},
  };
  for (const DCase& c : cases) {
    SCOPED_TRACE(c.target + " " + c.args);
    RunResult out[2];
    int i = 0;
    for (const char* b : {"backend=auto", "backend=trap"}) {
      out[i] = run({probekit_path(), "-q", "-v", "-x", b, "-n", c.program, "-c", target_path(c.target) + " " + c.args});
      ASSERT_EQ(out[i].status, 0) << out[i].err;
      ++i;
    }
    EXPECT_EQ(out[0].out, out[1].out);
    EXPECT_NE(out[0].out.find(c.needle), std::string::npos) << out[0].out;
    EXPECT_EQ(count_lines(out[0].err, ": jump, D clauses run in the agent at the return"), c.agent_returns) << out[0].err;
    EXPECT_EQ(count_lines(out[0].err, "not a jump probe: its D code reads arg0"), c.tracer_returns) << out[0].err;
    EXPECT_EQ(count_lines(out[0].err, "runs in probekit"), 0u) << out[0].err;  // every clause in the agent's code
    EXPECT_GE(count_lines(out[0].err, ") runs in the agent"), 1u) << out[0].err;
    EXPECT_EQ(count_lines(out[1].err, ": jump"), 0u) << out[1].err;
  }
}

} // namespace
} // namespace probekit::testing

