// D output actions, and faults, of clauses that run in the agent
// (d/agent_codegen.h, Program::agent_output): the agent writes an output
// record, probekit formats it with the tracer's own code, so what a
// program prints is what it prints under -x backend=trap, and the traced
// program's own output is unchanged.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>
#include <time.h>
#include <unistd.h>

#include "harness.h"

namespace probekit::testing {
namespace {

struct Traced {
  RunResult run;
  std::string out;  // probekit's output (-o FILE)
};

Traced trace_with(const std::string& backend, const std::string& prog, const std::string& target, const std::string& name,
                  const std::vector<std::string>& extra = {}) {
  const std::string file =
      output_file("dagent_" + name + "_" + backend.substr(8) + "_" + std::to_string(::getpid()) + ".txt");
  std::vector<std::string> argv = {probekit_path(), "-q", "-v", "-x", backend, "-o", file};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {"-n", prog, "-c", target});
  Traced t;
  t.run = run(argv);
  t.out = read_file(file);
  ::unlink(file.c_str());
  return t;
}

// The same program under the agent (backend=auto) and under -x
// backend=trap, both ending well; and under the agent once more with its
// clauses as bytecode (-x agentjit=off: engine/dvm_native.h), which must
// print byte for byte what the native code printed (unless `same_text` is
// false: threads printing in an order of their own).
void trace_both(const std::string& prog, const std::string& target, const std::string& name, Traced& jump, Traced& trap,
                const std::vector<std::string>& extra = {}, bool same_text = true) {
  jump = trace_with("backend=auto", prog, target, name, extra);
  trap = trace_with("backend=trap", prog, target, name, extra);
  ASSERT_EQ(jump.run.status, 0) << jump.run.err;
  ASSERT_EQ(trap.run.status, 0) << trap.run.err;
  std::vector<std::string> off = extra;
  off.insert(off.end(), {"-x", "agentjit=off"});
  Traced bytecode = trace_with("backend=auto", prog, target, name + "_bytecode", off);
  ASSERT_EQ(bytecode.run.status, 0) << bytecode.run.err;
  EXPECT_EQ(bytecode.run.out, jump.run.out);
  if (same_text) {
    EXPECT_EQ(bytecode.out, jump.out);
  }
  EXPECT_EQ(count_lines(bytecode.run.err, "native code"), 0u) << bytecode.run.err;
}

TEST(DAgentCli, PrintfAndTraceFromAgentClausesPrintAsTheTrapBackendDoes) {
  const std::string prog =
      "pid$target:a.out:work:entry /arg0 % 7 == 3/ { self->n++; printf(\"%d %u %5x|\\n\", arg0, self->n, arg0 * 3); "
      "trace(arg0 * 2); @c = count(); }\n"
      "pid$target:a.out:work:entry /arg0 == 1000/ { printf(\"n=%d\\n\", self->n); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 1 2000", "printf", jump, trap));
  EXPECT_EQ(jump.run.out, "threads 1 calls 2000 total 4000000\n");  // the program's own stdout
  EXPECT_EQ(trap.run.out, jump.run.out);
  EXPECT_EQ(jump.out, trap.out);
  EXPECT_NE(jump.out.find("3 1     9|\n610 2    1e|\n"), std::string::npos) << jump.out;
  EXPECT_NE(jump.out.find("n=143\n"), std::string::npos) << jump.out;
  EXPECT_NE(jump.out.find("\n              286\n"), std::string::npos) << jump.out;  // @c
  EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 1u) << jump.run.err;
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 2u) << jump.run.err;
}

// Output from clauses the agent runs at a return (its return-address
// hijack): the same lines as the trap backend's return sites print.
TEST(DAgentCli, PrintfFromAReturnClausePrintsAsTheTrapBackendDoes) {
  const std::string prog =
      "pid$target:a.out:work:entry { self->n++; }\n"
      "pid$target:a.out:work:return /self->n % 5 == 1/ { printf(\"%d %d %d\\n\", self->n, arg1, retval); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 1 20", "retprintf", jump, trap));
  EXPECT_EQ(jump.run.out, trap.run.out);
  EXPECT_EQ(jump.out, "1 1 1\n6 11 11\n11 21 21\n16 31 31\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent at the return"), 1u) << jump.run.err;
}

// walltimestamp in the agent: the hit's timestamp plus CLOCK_REALTIME's
// offset from it, so every value lies between the wall clock read before
// and after the run; vtimestamp is timestamp, as in the tracer.
TEST(DAgentCli, WalltimestampInTheAgentIsTheWallClockAtTheHit) {
  auto wall_ns = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  };
  const std::string prog =
      "pid$target:a.out:work:entry /vtimestamp > 0/ { @lo = min(walltimestamp); @hi = max(walltimestamp); "
      "@n = count(); }\n"
      "END { printa(\"%@d\\n\", @lo); printa(\"%@d\\n\", @hi); printa(\"%@d\\n\", @n); }\n";
  const int64_t before = wall_ns();
  Traced jump = trace_with("backend=jump", prog, target_path("pk_basic-pie-O2") + " 2 500", "wall");
  const int64_t after = wall_ns();
  ASSERT_EQ(jump.run.status, 0) << jump.run.err;
  EXPECT_EQ(jump.run.out, "threads 2 calls 500 total 500000\n");
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 1u) << jump.run.err;
  std::istringstream in(jump.out);
  int64_t lo = 0, hi = 0, n = 0;
  ASSERT_TRUE(in >> lo >> hi >> n) << jump.out;
  EXPECT_EQ(n, 1000);
  EXPECT_LE(before, lo);
  EXPECT_LE(lo, hi);
  EXPECT_LE(hi, after);
}

TEST(DAgentCli, FourThreadsPrintEveryLineOnceInEachThreadsOrder) {
  const std::string prog =
      "pid$target:a.out:work:entry /arg0 % 10 == 0/ { self->n++; printf(\"%d %d %d\\n\", tid, self->n, arg0); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 4 3000", "threads", jump, trap, {}, false));
  EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 36000000\n");
  EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 1u) << jump.run.err;
  // Per thread: n counts 1, 2, 3, ... with arg0 = 10 (n - 1), every line once.
  auto check = [](const std::string& out) {
    std::map<long, long> next;
    std::istringstream in(out);
    long tid, n, arg0;
    size_t lines = 0;
    while (in >> tid >> n >> arg0) {
      EXPECT_EQ(n, ++next[tid]) << out;
      EXPECT_EQ(arg0, 10 * (n - 1));
      ++lines;
    }
    EXPECT_EQ(lines, 1200u);
    EXPECT_EQ(next.size(), 4u);
  };
  check(jump.out);
  check(trap.out);
}

TEST(DAgentCli, ExitFromAnAgentClauseEndsTracingAsTheTrapBackendDoes) {
  const std::string prog =
      "pid$target:a.out:work:entry /arg0 == 500/ { printf(\"bye %d\\n\", arg0); exit(3); }\n"
      "END { printf(\"end\\n\"); }\n";
  Traced jump = trace_with("backend=auto", prog, target_path("pk_basic-pie-O2") + " 1 1000", "exit");
  Traced trap = trace_with("backend=trap", prog, target_path("pk_basic-pie-O2") + " 1 1000", "exit");
  EXPECT_EQ(jump.run.status, 3) << jump.run.err;
  EXPECT_EQ(trap.run.status, 3) << trap.run.err;
  EXPECT_EQ(jump.out, "bye 500\nend\n\n");  // dtrace(1)'s blank line when tracing stops
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 1u) << jump.run.err;
}

TEST(DAgentCli, AfterExitTheFiringsLaterClausesDoNotRunInTheAgent) {
  // dtrace-utils checks the activity state before each clause: the clause
  // calling exit() runs to its end, the firing's later clauses do not (the
  // count is of arg0 0..4, not 5; no "late" line). The target is killed
  // before it prints (exit() ends a -c command).
  const std::string prog =
      "pid$target:a.out:work:entry /arg0 == 5/ { exit(0); @q = sum(arg0); printf(\"exit at %d\\n\", arg0); }\n"
      "pid$target:a.out:work:entry /arg0 <= 5/ { @c = count(); }\n"
      "pid$target:a.out:work:entry /arg0 == 5/ { printf(\"late\\n\"); }\n";
  for (const char* backend : {"backend=auto", "backend=trap"}) {
    Traced t = trace_with(backend, prog, target_path("pk_basic-pie-O2") + " 1 100000000", "exit_clauses");
    EXPECT_EQ(t.run.status, 0) << backend << t.run.err;
    EXPECT_EQ(t.out, "exit at 5\n\n                5\n                5\n") << backend;
    if (std::string(backend) == "backend=auto") {
      EXPECT_EQ(count_lines(t.run.err, ": jump, D clauses run in the agent"), 1u) << t.run.err;
    }
  }
}

TEST(DAgentCli, ADivisionByZeroInTheAgentIsTheTrapBackendsErrorAndFiresERROR) {
  const std::string prog =
      "pid$target:a.out:work:entry /arg0 < 10/ { printf(\"%d\\n\", 100 / (arg0 - 5)); }\n";
  const std::string with_error = prog + "ERROR { printf(\"ERROR %d %d\\n\", arg2, arg4); }\n";
  for (const std::string& p : {prog, with_error}) {
    Traced jump, trap;
    ASSERT_NO_FATAL_FAILURE(trace_both(p, target_path("pk_basic-pie-O2") + " 1 100", "divzero", jump, trap));
    EXPECT_EQ(jump.run.out, "threads 1 calls 100 total 10000\n");  // no signal in the target
    EXPECT_EQ(jump.out, trap.out);
    EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 1u) << jump.run.err;
    const std::string error = R"(probekit: error in dt_clause_0 for probe ID [0-9]+ \(pid[0-9]+:a.out:work:entry\): )"
                              R"(divide-by-zero at BPF pc 2)";
    if (p == prog) {
      EXPECT_EQ(jump.out, "-20\n-25\n-33\n-50\n-100\n100\n50\n33\n25\n\n");
      EXPECT_TRUE(std::regex_search(jump.run.err, std::regex(error))) << jump.run.err;
      EXPECT_TRUE(std::regex_search(trap.run.err, std::regex(error))) << trap.run.err;
    } else {
      // ERROR's arg2 is the clause's place in the program, arg4 DTRACEFLT_DIVZERO;
      // the error is printed too, as dtrace-utils prints it.
      EXPECT_EQ(jump.out, "-20\n-25\n-33\n-50\n-100\nERROR 0 4\n100\n50\n33\n25\n\n");
      EXPECT_TRUE(std::regex_search(jump.run.err, std::regex(error))) << jump.run.err;
    }
  }
}

TEST(DAgentCli, CopyinstrIsReadByTheAgentAndABadAddressIsTheTrapBackendsError) {
  // eight()'s arg0 is the int -1 (edi; the register's upper half 0):
  // nothing to read there, DTrace's invalid address.
  const std::string prog =
      "pid$target:a.out:process:entry { printf(\"%d %s|%s\\n\", arg0, copyinstr(arg1), copyinstr(arg1 + 2)); }\n"
      "pid$target:a.out:eight:entry /arg7 == 8000000001/ { printf(\"%s\\n\", copyinstr(arg0)); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_args-pie-O2") + " 3", "copyinstr", jump, trap));
  EXPECT_EQ(jump.run.out, trap.run.out);  // the program's own stdout
  EXPECT_EQ(jump.out, "42 widget|dget\n43 widget|dget\n44 widget|dget\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 2u) << jump.run.err;
  auto errors = [](const std::string& err) {
    std::string out;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);)
      if (line.find("error in dt_clause_") != std::string::npos)
        out += normalize(normalize(line, R"(\(pid[0-9]+)", "(pidP"), R"(ID [0-9]+ \()", "ID N (") + "\n";
    return out;
  };
  EXPECT_EQ(errors(jump.run.err),
            "probekit: error in dt_clause_1 for probe ID N (pidP:a.out:eight:entry): invalid address "
            "(0xffffffff) at BPF pc 2\n")
      << jump.run.err;
  EXPECT_EQ(errors(trap.run.err), errors(jump.run.err)) << trap.run.err;
}

// The agent reads a string with plain loads where the memory cannot go
// away (the executable's read-only mappings, the main thread's stack, the
// hit's own stack window) and with process_vm_readv elsewhere (agent.c
// safe_read): every kind gives the trap backend's string, from the main
// thread and from another, the top of the main stack (AT_EXECFN: its
// mapping ends a few bytes after the string) and a string cut by the end
// of its mapping included.
TEST(DAgentCli, CopyinstrReadsEveryKindOfMemoryAsTheTrapBackendDoes) {
  const std::string prog = "pid$target:a.out:name_hit:entry { printf(\"%d %s\\n\", arg0, copyinstr(arg1)); }\n";
  const std::string target = target_path("pk_strings-pie-O2");
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target + " places", "places", jump, trap));
  EXPECT_EQ(jump.run.out, "places done\n");
  EXPECT_EQ(trap.run.out, jump.run.out);
  EXPECT_EQ(jump.out, "1 in-the-executable\n2 main-stack\n3 heap\n4 " + target +
                          "\n5 tail\n10 thread-stack\n11 main-stack\n12 in-the-executable\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 1u) << jump.run.err;
}

TEST(DAgentCli, StringComparisonsAndABadPointerReadInTheAgentAreTheTrapBackends) {
  // mix()'s arg0 is the loop counter: *(int *)1 is DTrace's invalid address.
  const std::string prog =
      "pid$target:a.out:process:entry /copyinstr(arg1) == \"widget\" && arg0 == 43/ { printf(\"%d %s\\n\", arg0, copyinstr(arg1)); }\n"
      "pid$target:a.out:process:entry /copyinstr(arg1) > \"widgets\" || \"a\" > copyinstr(arg1)/ { printf(\"no\\n\"); }\n"
      "pid$target:a.out:mix:entry /arg0 == 1/ { printf(\"%d\\n\", *(int *)arg0); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_args-pie-O2") + " 3", "strcmp", jump, trap));
  EXPECT_EQ(jump.run.out, trap.run.out);
  EXPECT_EQ(jump.out, "43 widget\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 2u) << jump.run.err;
  const std::string error = R"(probekit: error in dt_clause_2 for probe ID [0-9]+ \(pid[0-9]+:a.out:mix:entry\): )"
                            R"(invalid address \(0x1\) at BPF pc 2)";
  EXPECT_TRUE(std::regex_search(jump.run.err, std::regex(error))) << jump.run.err;
  EXPECT_TRUE(std::regex_search(trap.run.err, std::regex(error))) << trap.run.err;
}

TEST(DAgentCli, OutputLostToAFullBufferIsCountedAsDTraceCountsDrops) {
  // Far more lines than probekit formats while the program runs: what is
  // not printed is reported as dropped, to the line.
  const std::string prog = "pid$target:a.out:work:entry { printf(\"%d\\n\", arg0); }\n";
  Traced jump = trace_with("backend=auto", prog, target_path("pk_basic-pie-O2") + " 2 400000", "drops");
  ASSERT_EQ(jump.run.status, 0) << jump.run.err;
  EXPECT_EQ(jump.run.out, "threads 2 calls 400000 total 320000000000\n");
  uint64_t dropped = 0;
  std::smatch m;
  std::string err = jump.run.err;
  while (std::regex_search(err, m, std::regex(R"(probekit: ([0-9]+) drops? on CPU [0-9]+\n)"))) {
    dropped += std::stoull(m[1]);
    err = m.suffix();
  }
  // Every line printed or dropped, and the blank line when tracing stops.
  EXPECT_EQ(std::count(jump.out.begin(), jump.out.end(), '\n') + dropped, 800000u + 1u) << jump.run.err;
}

// Global integers in the agent: four threads add to shared words (atomic
// adds: no update lost), BEGIN's value reaches the agent before the first
// hit, a clause the tracer runs adds to the same counter, and END reads
// the totals: exactly the trap backend's output.
TEST(DAgentCli, GlobalsSharedByFourThreadsKeepExactTotals) {
  const std::string prog =
      "BEGIN { base = 100; n = 0; sum = 0; down = 0; }\n"  // dtrace: op= reads a global assigned before
      "pid$target:a.out:main:entry { printf(\"%s\\n\", strstr(execname, \"\")); n += 1000; }\n"  // the tracer's (strstr)
      "pid$target:a.out:work:entry { n++; sum += arg0; down -= 2; }\n"
      "pid$target:a.out:work:entry /base == 100/ { seen++; }\n"
      "pid$target:a.out:work:entry /arg0 == 2999/ { last = arg0; }\n"
      "END { printf(\"n=%d sum=%d down=%d seen=%d last=%d base=%d\\n\", n, sum, down, seen, last, base); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 4 3000", "globals", jump, trap));
  EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 36000000\n");
  EXPECT_EQ(trap.run.out, jump.run.out);
  EXPECT_EQ(jump.out, "pk_basic-pie-O2\nn=13000 sum=17994000 down=-24000 seen=12000 last=2999 base=100\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 1u) << jump.run.err;
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 3u) << jump.run.err;
}

// Associative arrays of integers in the agent: one lock-free table per
// process, so four threads counting into shared keys keep exact totals;
// END reads the agent's table.
TEST(DAgentCli, AssociativeArraysSharedByFourThreadsKeepExactTotals) {
  const std::string prog =
      "pid$target:a.out:work:entry { a[arg0 & 7] += 1; t[tid] += 1; s[arg0 & 1, arg0 & 2] += arg0; }\n"
      "pid$target:a.out:work:entry /t[tid] == 3000/ { done += 1; }\n"
      "END { printf(\"%d %d %d %d %d %d\\n\", a[0], a[7], s[1, 2], s[0, 0], done, t[12345]); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 4 3000", "arrays", jump, trap));
  EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 36000000\n");
  EXPECT_EQ(trap.run.out, jump.run.out);
  // s[1, 2]: 4 threads x the arg0 = 4k + 3 below 3000 (3, 7, ... 2999).
  EXPECT_EQ(jump.out, "1500 1500 4503000 4494000 4 0\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 2u) << jump.run.err;
}

// A full -x dynvarsize: the elements that find no room are counted and
// reported as the trap backend reports them, to the element.
TEST(DAgentCli, AFullDynvarsizeReportsTheTrapBackendsDrops) {
  const std::string prog =
      "pid$target:a.out:work:entry { a[arg0 & 15] += 1; }\n"
      "END { printf(\"%d %d %d %d\\n\", a[0], a[8], a[9], a[12]); }\n";
  const std::vector<std::string> x = {"-x", "dynvarsize=280"};
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 4 3000", "dynfull", jump, trap, x));
  // 280 bytes hold 10 elements (28 bytes each, d::dynamic_variable_bytes:
  // the id, the 8-byte key and the thread key, then an int): keys 0..9; 10..15 drop at
  // each of their 187 hits in each thread.
  EXPECT_EQ(jump.out, "752 748 748 0\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, "probekit: 4488 dynamic variable drops"), 1u) << jump.run.err;
  EXPECT_EQ(count_lines(trap.run.err, "probekit: 4488 dynamic variable drops"), 1u) << trap.run.err;
}

// Strings in the agent (pk_strings: five names in turn, one empty, one
// longer than strsize, and every 100th call an unreadable address), four
// threads: aggregations keyed by copyinstr(), a self-> string set at the
// entry and compared at the return; exact totals, the same as the trap
// backend's, and the fault is ERROR (counted), no signal to the program.
TEST(DAgentCli, StringKeysAndVariablesOfFourThreadsKeepExactTotals) {
  const std::string prog =
      "pid$target:a.out:name_hit:entry { @n[copyinstr(arg1)] = count(); @m[copyinstr(arg1), arg0 % 2] = count();\n"
      "  self->name = copyinstr(arg1); }\n"
      "pid$target:a.out:name_hit:return /self->name == \"beta\" || self->name < \"b\"/ { @r[self->name] = count(); }\n"
      "ERROR { @e = count(); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(
      trace_both(prog, target_path("pk_strings-pie-O2") + " 4 3000", "strkeys", jump, trap, {"-x", "strsize=16"}));
  EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 18006000\n");  // the program's own stdout
  EXPECT_EQ(trap.run.out, jump.run.out);
  EXPECT_EQ(jump.out, trap.out);
  for (const char* line : {"2280\n                                                                 2400\n",  // ""
                           "  a-name-longer-th                                               2400\n",
                           "  gamma                                                          2280\n",
                           "  gamma                                                             1             1080\n",
                           "  a-name-longer-th                                               2520\n",  // @r
                           "\n              120\n"})                                                   // @e
    EXPECT_NE(jump.out.find(line), std::string::npos) << line << "\n" << jump.out;
  EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 2u) << jump.run.err;
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 2u) << jump.run.err;
  // Both sites' string clauses (copyinstr, keys, a self-> store, comparisons) are native code.
  EXPECT_EQ(count_lines(jump.run.err, "; native code"), 2u) << jump.run.err;
  EXPECT_EQ(count_lines(jump.run.err, "interpreted"), 0u) << jump.run.err;
  EXPECT_EQ(count_lines(jump.run.err, "; bytecode"), 0u) << jump.run.err;
}

// printf and trace of string variables and execname, strlen() and string
// comparisons from agent clauses print as the trap backend prints them.
TEST(DAgentCli, StringVariablesPrintAsTheTrapBackendPrintsThem) {
  const std::string prog =
      "pid$target:a.out:name_hit:entry { self->name = copyinstr(arg1); this->e = execname; }\n"
      "pid$target:a.out:name_hit:return /self->name != \"gamma\"/ {\n"
      "  printf(\"%s|%d|%s|%d\\n\", self->name, strlen(self->name), execname, self->name >= probefunc); trace(self->name); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(
      trace_both(prog, target_path("pk_strings-pie-O2") + " 1 7", "strvars", jump, trap, {"-x", "strsize=16"}));
  EXPECT_EQ(jump.run.out, "threads 1 calls 7 total 28\n");
  EXPECT_EQ(trap.run.out, jump.run.out);
  // Each printf line, then trace()'s string (no newline); gamma skipped.
  EXPECT_EQ(jump.out,
            "alpha|5|pk_strings-pie-|0\nalphabeta|4|pk_strings-pie-|0\nbeta|0|pk_strings-pie-|0\n"
            "a-name-longer-th|16|pk_strings-pie-|0\na-name-longer-thalpha|5|pk_strings-pie-|0\n"
            "alphabeta|4|pk_strings-pie-|0\nbeta\n");
  EXPECT_EQ(trap.out, jump.out);
}

// String globals in the agent: one copy per process shared by its four
// threads, set by the tracer's clause at main's entry (before the threads
// run) and read by the agent's, stored by the agent's and read by the
// tracer's at main's return and at END: the trap backend's output.
TEST(DAgentCli, StringGlobalsSharedWithTheTracerPrintAsTheTrapBackendPrintsThem) {
  const std::string prog =
      "pid$target:a.out:main:entry { printf(\"%s\\n\", strstr(execname, \"\")); first = \"from-tracer\"; }\n"
      "pid$target:a.out:name_hit:entry /arg0 == 2998/ { last = copyinstr(arg1); }\n"
      "pid$target:a.out:name_hit:entry /arg0 == 6/ { six = copyinstr(arg1); }\n"
      "pid$target:a.out:name_hit:entry /first == \"from-tracer\"/ { matched++; }\n"
      "pid$target:a.out:name_hit:entry /arg0 == 4/ { copy = first; }\n"
      "pid$target:a.out:main:return { printf(\"%s %s\\n\", strstr(last, \"\"), six); }\n"
      "END { printf(\"%s|%s|%s|%s|%d\\n\", last, six, copy, first, matched); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(
      trace_both(prog, target_path("pk_strings-pie-O2") + " 4 3000", "strglobals", jump, trap, {"-x", "strsize=16"}));
  EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 18006000\n");  // the program's own stdout
  EXPECT_EQ(trap.run.out, jump.run.out);
  EXPECT_EQ(jump.out,
            "pk_strings-pie-\na-name-longer-th beta\na-name-longer-th|beta|from-tracer|from-tracer|12000\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 4u) << jump.run.err;
}

// Associative arrays keyed by strings (copyinstr(), alone and with an
// integer) in the agent's lock-free tables: four threads counting into
// shared keys keep exact totals; END reads the agent's tables.
TEST(DAgentCli, StringKeysOfArraysSharedByFourThreadsKeepExactTotals) {
  const std::string prog =
      "pid$target:a.out:name_hit:entry { a[copyinstr(arg1)]++; m[copyinstr(arg1), arg0 & 1] += 1; }\n"
      "END { printf(\"%d %d %d %d %d\\n\", a[\"alpha\"], a[\"\"], a[\"a-name-longer-th\"], m[\"gamma\", 1], "
      "m[\"beta\", 0]); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(
      trace_both(prog, target_path("pk_strings-pie-O2") + " 4 3000", "strarrays", jump, trap, {"-x", "strsize=16"}));
  EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 18006000\n");
  EXPECT_EQ(trap.run.out, jump.run.out);
  // gamma at odd i: i = 10k + 9, less the unreadable i = 100k + 99.
  EXPECT_EQ(jump.out, "2400 2400 2400 1080 1200\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 1u) << jump.run.err;
}

// Associative arrays of strings in the agent's lock-free tables: a
// thread's last name (keyed by tid, read back in a predicate, deleted by
// storing ""), names shared by four threads by the call's last digit (""
// deletes it), read at END by the tracer.
TEST(DAgentCli, ArraysOfStringsSharedByFourThreadsPrintAsTheTrapBackendPrintsThem) {
  const std::string prog =
      "pid$target:a.out:name_hit:entry { last[tid] = copyinstr(arg1); byi[arg0 % 10] = copyinstr(arg1); }\n"
      "pid$target:a.out:name_hit:entry /last[tid] == \"gamma\"/ { g++; }\n"
      "pid$target:a.out:name_hit:entry /arg0 == 2999/ { last[tid] = \"\"; }\n"
      "END { printf(\"%s|%s|%s|%s|%s|%s|%d\\n\", byi[0], byi[4], byi[3], byi[2], byi[9], last[$target], g); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(
      trace_both(prog, target_path("pk_strings-pie-O2") + " 4 3000", "strvalues", jump, trap, {"-x", "strsize=16"}));
  EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 18006000\n");
  EXPECT_EQ(trap.run.out, jump.run.out);
  // gamma at i = 5k + 4 (600 a thread), less the unreadable i = 100k + 99
  // (30: their clause is abandoned, last[tid] keeps the name before).
  EXPECT_EQ(jump.out, "alpha|gamma|a-name-longer-th||gamma||2280\n\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 3u) << jump.run.err;
}

// ufunc(), usym(), umod() and uaddr() keys and trace() values in the
// agent: it keeps addresses, probekit symbolizes them when it prints, by
// the modules the process had: the program has exited when the
// aggregations print, and they still print names.
TEST(DAgentCli, SymbolKeysPrintNamesAfterTheProgramHasExitedAsTheTrapBackendDoes) {
  const std::string prog =
      "pid$target:a.out:work:entry { @f[ufunc(uregs[R_PC])] = count(); @c[usym(*(uint64_t *)uregs[R_SP])] = count();\n"
      "  @m[umod(uregs[R_PC]), uaddr(uregs[R_PC])] = sum(arg0); }\n"
      "pid$target:a.out:work:entry /arg0 == 5/ { trace(ufunc(uregs[R_PC])); printf(\"[%s]\\n\", umod(uregs[R_PC])); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 4 3000", "symbols", jump, trap));
  EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 36000000\n");
  EXPECT_EQ(trap.run.out, jump.run.out);
  EXPECT_EQ(jump.out, trap.out);
  // trace() of a symbol is dtrace-utils' "  %-50s".
  EXPECT_EQ(count_lines(jump.out, "pk_basic-pie-O2`work                              [pk_basic-pie-O2]"), 4u)
      << jump.out;
  EXPECT_NE(jump.out.find("  pk_basic-pie-O2`work                                          12000\n"), std::string::npos)
      << jump.out;
  EXPECT_NE(jump.out.find("  pk_basic-pie-O2`run                                           12000\n"), std::string::npos)
      << jump.out;
  EXPECT_NE(jump.out.find("\n  pk_basic-pie-O2                                     pk_basic-pie-O2`work"
                          "                                       17994000\n"),
            std::string::npos)
      << jump.out;
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 2u) << jump.run.err;
}

// self-> variables in the agent are charged to -x dynvarsize as the
// tracer charges them (each at its first store, 8 bytes for an int64_t):
// 20 bytes hold two threads' self->n; the other two drop each of their
// 3000 stores.
TEST(DAgentCli, SelfVariablesFillDynvarsizeAsTheTrapBackendsDo) {
  const std::string prog =
      "pid$target:a.out:work:entry { self->n++; }\n"
      "pid$target:a.out:work:entry /self->n == 3000/ { @done = count(); }\n";
  const std::vector<std::string> x = {"-x", "dynvarsize=20"};
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 4 3000", "selfdyn", jump, trap, x));
  EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 36000000\n");
  EXPECT_EQ(jump.out, "\n                2\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, "probekit: 6000 dynamic variable drops"), 1u) << jump.run.err;
  EXPECT_EQ(count_lines(trap.run.err, "probekit: 6000 dynamic variable drops"), 1u) << trap.run.err;
  EXPECT_EQ(count_lines(jump.run.err, ") runs in the agent"), 2u) << jump.run.err;
}

// Clauses compiled to native code (engine/dvm_native.h) compute what the
// interpreter computes: arithmetic, comparisons, predicates, self->
// variables, built-ins and every aggregation, at an entry and at a
// return, printed the same under native code, bytecode and the trap
// backend; -v says which form runs: every clause native, printf's (an
// output op, which calls the agent's pk_agent_dvm_op) too.
TEST(DAgentCli, NativeClausesComputeWhatTheInterpreterComputes) {
  const std::string prog =
      "pid$target:a.out:work:entry /execname == \"pk_basic-pie-O2\" && pid > 0 && tid > 0 && cpu >= 0/ {\n"
      "  self->n++; self->a = arg0; this->x = (arg0 * 7 - 3) / 2 % 1000;\n"
      "  @k[arg0 & 7, arg0 % 3 == 1] = count(); @s = sum(this->x); @mn = min(-(int)arg0 >> 2);\n"
      "  @mx = max(arg0 ^ 0x55 | 1); @av = avg((int)(char)arg0); @sd = stddev(arg0 & 0xff);\n"
      "  @q = quantize(arg0 - 500); @lq = lquantize(arg0 % 50, 0, 40, 5); @llq = llquantize(arg0, 10, 0, 3, 10);\n"
      "  @u[(unsigned)arg0 / 3 > 300 ? 1 : 0, !(arg0 & 1), ~arg0 & 3, arg0 << 2 >= 40] = count();\n"
      "}\n"
      "pid$target:a.out:work:return /self->a % 97 == 0/ { @r[self->n] = sum(arg1 - self->a); }\n"
      "pid$target:a.out:work:entry /arg0 == 777/ { printf(\"%d %d\\n\", arg0, self->n); }\n"
      "END { printa(@k); printa(@s); printa(@mn); printa(@mx); printa(@av); printa(@sd); printa(@q); printa(@lq);\n"
      "  printa(@llq); printa(@u); printa(@r); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 1 1000", "native", jump, trap));
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_NE(jump.out.find("777 778\n"), std::string::npos) << jump.out;
  EXPECT_EQ(count_lines(jump.run.err, "D clauses run in the agent (") , 1u) << jump.run.err;
  {  // the entry's site line ends "; native code": printf's clause too
    std::istringstream lines(jump.run.err);
    size_t native_entries = 0;
    for (std::string line; std::getline(lines, line);)
      native_entries += line.find(":work:entry: site work: jump") != std::string::npos &&
                        line.size() > 13 && line.compare(line.size() - 13, 13, "; native code") == 0;
    EXPECT_EQ(native_entries, 1u) << jump.run.err;
  }
  EXPECT_EQ(count_lines(jump.run.err, "interpreted"), 0u) << jump.run.err;
  // work is `lea rax,[rdi+rdi+1]; ret`: its entry's and its exit's jmp
  // are one (one window, the entry's clauses, then the return's at the ret).
  EXPECT_EQ(count_lines(jump.run.err, "at the return, at its 1 exit (+0x5; no hijack); native code"), 1u)
      << jump.run.err;
}

// ustack() and its family in the agent (PK_OP_USTACK): the agent walks as
// the tracer walks at a trap (the probed instruction, the caller from the
// call frame rule when the frame-pointer chain lacks it, the chain read
// with the fault-safe reader), keeps a key's frames in the thread's stack
// table, and probekit symbolizes them when it prints: byte for byte the
// trap backend's output, in -O0 code (frames everywhere) and -O2 code (a
// frameless caller: the rule's frame is the only one), in four threads.
TEST(DAgentCli, UstackKeysDepthAndCallerInTheAgentPrintAsTheTrapBackendDoes) {
  const std::string prog =
      "pid$target:a.out:work:entry { @s[ustack()] = count(); @t[ustack(2), probefunc] = sum(arg0);\n"
      "  @d[ustackdepth] = count(); @c[ufunc(ucaller)] = count(); }\n"
      "pid$target:a.out:work:entry /arg0 == 7 && ustackdepth > 1/ { trace(ustack(3)); printf(\"[%d %d]\\n\", "
      "ustackdepth, ucaller != 0); }\n";
  for (const char* opt : {"O0", "O2"}) {
    const std::string name = std::string("pk_basic-pie-") + opt;
    Traced jump, trap;
    ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path(name) + " 4 3000", std::string("ustack") + opt, jump, trap));
    EXPECT_EQ(jump.run.out, "threads 4 calls 3000 total 36000000\n");
    EXPECT_EQ(trap.run.out, jump.run.out);
    EXPECT_EQ(jump.out, trap.out) << opt;
    // The caller (run) comes from the call frame rule at the entry, above
    // the chain's frames; every thread's stack is the same.
    EXPECT_NE(jump.out.find("              " + name + "`work\n              " + name + "`run+0x"), std::string::npos)
        << jump.out;
    EXPECT_TRUE(std::regex_search(jump.out, std::regex("`run\\s+12000\n"))) << jump.out;
    EXPECT_EQ(count_lines(jump.out, "[" ), 4u) << jump.out;
    EXPECT_EQ(count_lines(jump.run.err, ": jump, D clauses run in the agent"), 1u) << jump.run.err;
  }
}

// At a return the stack is the returning instruction's (the function's
// one exit: the agent knows it), with the caller the hijack returns to;
// and a frame whose return address a return probe hijacked (run's, at
// -O0 on the chain) shows the real caller, never the agent's trampoline.
TEST(DAgentCli, UstackAtAReturnAndThroughAHijackedFrameIsTheTrapBackends) {
  const std::string prog =
      "pid$target:a.out:work:return { @r[ustack()] = count(); @c[ufunc(ucaller)] = count(); @d[ustackdepth] = count(); }\n"
      "pid$target:a.out:run:return { @n = count(); }\n"
      "pid$target:a.out:run:entry { @e[ustack()] = count(); }\n";
  for (const char* opt : {"O0", "O2"}) {
    const std::string name = std::string("pk_basic-pie-") + opt;
    Traced jump, trap;
    ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path(name) + " 4 3000", std::string("ustackret") + opt, jump, trap));
    EXPECT_EQ(jump.out, trap.out) << opt;
    EXPECT_NE(jump.out.find("              " + name + "`work+0x"), std::string::npos) << jump.out;
    EXPECT_EQ(jump.out.find("0x7f"), std::string::npos) << jump.out;  // no unsymbolized frame (a trampoline)
    EXPECT_EQ(count_lines(jump.run.err, "D clauses run in the agent at the return"), 2u) << jump.run.err;
  }
}

// exit() in an agent clause stops every D site of the process at once
// (agent_abi.h dexited): the main thread's calls after done() (20 million
// of them, arg0 7 among the first) count nothing, and neither does a
// counting probe (it runs as a clause when a pid clause may call exit():
// a counter handed over in bulk would count them), so four threads'
// totals are exactly the trap backend's, with no record to drop. At -O2
// done() is a bare `ret`, a trap site: the tracer runs its code on the
// same state (Agent::run_dprog), and its exit() stops the agent the same.
TEST(DAgentCli, AfterExitNoFiringOfAnyThreadRunsInTheAgent) {
  const std::string prog =
      "pid$target:a.out:work:entry { @c = count(); }\n"
      "pid$target:a.out:work:entry /arg0 == 7/ { @seven = count(); }\n"
      "pid$target:a.out:done:entry { exit(0); }\n";
  for (const char* opt : {"O0", "O2"}) {
    std::string outs[2];
    int i = 0;
    for (const char* backend : {"backend=auto", "backend=trap"}) {
      Traced t = trace_with(backend, prog, target_path(std::string("pk_basic-pie-") + opt) + " 4 3000 20000000",
                            std::string("exit_threads") + opt);
      EXPECT_EQ(t.run.status, 0) << backend << t.run.err;
      EXPECT_EQ(t.out, "\n            12000\n                4\n") << backend << opt;
      EXPECT_EQ(count_lines(t.run.err, "drops"), 0u) << t.run.err;
      if (std::string(backend) == "backend=auto") {
        EXPECT_EQ(count_lines(t.run.err, ": jump, D clauses run in the agent"), opt == std::string("O0") ? 2u : 1u)
            << t.run.err;
      }
      outs[i++] = t.out;
    }
    EXPECT_EQ(outs[0], outs[1]);
  }
}

// A thread's ustack() table holds as many stacks as the trap path's
// -x aggsize holds keys with a stack (aggsize / (48 + 8 * (ustackframes +
// 1)): 520 of 1000-frame stacks at the default 4m, 8 at 64k), so a
// recursion 600 deep (601 stacks) drops what the trap backend drops, with
// the same message: 80 at 4m, 592 at 64k. The table used to hold 128
// such stacks a thread (472 drops).
TEST(DAgentCli, AUstackTableHoldsAsManyStacksAsAggsizeAsTheTrapBackendDoes) {
  const std::string prog =
      "pid$target:a.out:deep:entry { @s[ustack()] = count(); @n = count(); }\n"
      "END { printa(\"%@d\", @s); printf(\"\\n\"); }\n";
  const std::string target = target_path("pk_ret-pie-O0") + " deep 1 600";
  for (const char* aggsize : {"aggsize=4m", "aggsize=64k"}) {
    const bool small = std::string(aggsize) == "aggsize=64k";
    Traced jump, trap;
    ASSERT_NO_FATAL_FAILURE(trace_both(prog, target, std::string("ustack_fill") + (small ? "64k" : "4m"), jump, trap,
                                       {"-x", aggsize, "-x", "ustackframes=1000"}));
    const std::string kept = small ? "11111112" : std::string(519, '1') + "2";
    EXPECT_EQ(jump.out, kept + "\n\n              601\n") << aggsize;
    EXPECT_EQ(trap.out, jump.out) << aggsize;
    const std::string drops = small ? "probekit: 592 aggregation drops on CPU 0" : "probekit: 80 aggregation drops on CPU 0";
    EXPECT_EQ(count_lines(jump.run.err, drops), 1u) << jump.run.err;
    EXPECT_EQ(count_lines(trap.run.err, drops), 1u) << trap.run.err;
    EXPECT_EQ(count_lines(jump.run.err, "clause 1 (line 1) runs in the agent"), 1u) << jump.run.err;
  }
  // 100 frames, 100k: the trap path holds 119 such keys, all of a 150-deep
  // recursion's 100 stacks (the 51 deepest walks are the same 100 frames);
  // the aggregation's own table in the thread's part holds every stack its
  // stack table does (it held 64, and dropped 172 hits).
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both("pid$target:a.out:deep:entry { @s[ustack()] = count(); @n = count(); }\n"
                                     "END { printa(\"%@d \", @s); printf(\"\\n\"); }\n",
                                     target_path("pk_ret-pie-O0") + " deep 1 150", "ustack_fill100k", jump, trap,
                                     {"-x", "aggsize=100k"}));
  std::string kept;
  for (int i = 0; i < 98; ++i) kept += "1 ";
  EXPECT_EQ(jump.out, kept + "2 51 \n\n              151\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, "drops"), 0u) << jump.run.err;
}

// Arrays of structs and struct-valued associative array elements run in
// probekit (the agent refuses struct values and fixed-size arrays, and
// says so under -v) beside a clause the agent runs at work()'s return
// (work returns 2x + 1, odd): four threads' 12,000 calls are summed
// exactly by both, and what END reads is the same under
// the agent and under the trap backend.
TEST(DAgentCli, ArraysOfStructsRunInProbekitBesideAgentClausesAsTheTrapBackendRunsThem) {
  const std::string prog =
      "struct rec { int n; long sum; } r[4];\n"
      "this struct rec v;\n"
      "pid$target:a.out:work:entry { this->i = arg0 % 4; r[this->i].n++; r[this->i].sum += arg0; }\n"
      "pid$target:a.out:work:return { @odd = sum(arg1 % 2); }\n"
      "pid$target:a.out:work:entry /arg0 == 7/ { this->v.n = 7; this->v.sum = 77; a[arg0] = this->v; }\n"
      "END { printf(\"%d %d %d %d %d %d %d\\n\", r[0].n, r[0].sum, r[3].n, r[3].sum, a[7].n, a[7].sum, a[8].n); }\n";
  Traced jump, trap;
  ASSERT_NO_FATAL_FAILURE(trace_both(prog, target_path("pk_basic-pie-O2") + " 4 3000", "structarr", jump, trap));
  EXPECT_EQ(jump.out, "3000 4494000 3000 4503000 7 77 0\n\n            12000\n");
  EXPECT_EQ(trap.out, jump.out);
  EXPECT_EQ(count_lines(jump.run.err, "clause 1 (line 3) runs in probekit"), 1u) << jump.run.err;
  EXPECT_EQ(count_lines(jump.run.err, "clause 2 (line 4) runs in the agent"), 1u) << jump.run.err;
  EXPECT_EQ(count_lines(jump.run.err, "clause 3 (line 5) runs in probekit"), 1u) << jump.run.err;
}

// exit() in a clause that runs in probekit (here: one the agent cannot
// run, at a trap site) stops the agent's clauses too, as dtrace-utils'
// activity state stops every clause after exit(): the main thread goes on
// to call work() 2,000,000 times after done(), and none of those calls
// counts, under the agent as under the trap backend.
TEST(DAgentCli, AnExitInAProbekitClauseStopsTheAgentsClauses) {
  const std::string prog =
      "pid$target:a.out:work:entry { @c = count(); }\n"
      "pid$target:a.out:done:entry { printf(\"%s\\n\", toupper(execname)); exit(0); }\n";
  std::string outs[2];
  int i = 0;
  for (const char* backend : {"backend=auto", "backend=trap"}) {
    Traced t = trace_with(backend, prog, target_path("pk_basic-pie-O2") + " 4 3000 2000000", "exit_tracer");
    EXPECT_EQ(t.run.status, 0) << backend << t.run.err;
    EXPECT_EQ(t.out, "PK_BASIC-PIE-O2\n\n            12000\n") << backend;
    if (std::string(backend) == "backend=auto") {
      EXPECT_EQ(count_lines(t.run.err, "clause 1 (line 1) runs in the agent"), 1u) << t.run.err;
      EXPECT_EQ(count_lines(t.run.err, "clause 2 (line 2) runs in probekit"), 1u) << t.run.err;
    }
    outs[i++] = t.out;
  }
  EXPECT_EQ(outs[0], outs[1]);
}

// A counting probe's total is what it counted before exit(): here exit()
// runs in probekit at a USDT probe (i == 5) while app_neg()'s jump site
// counts in the agent; the program goes on calling app_neg() 100,000
// times, and the total handed to the program stays 5 (i = 0..4), as under
// the trap backend.
TEST(DAgentCli, ACountingProbeCountsNoHitAfterAnExitInProbekit) {
  const std::string prog =
      "pid$target:a.out:app_neg:entry { @c = count(); }\n"
      "pkapp$target:::tick /arg0 == 5/ { exit(0); }\n";
  const std::string target =
      target_path("pk_usdt-pie-O2") + " " + target_path("pk_usdtdl.so") + " 100000";
  for (const char* backend : {"backend=auto", "backend=trap"}) {
    Traced t = trace_with(backend, prog, target, "exit_counted");
    EXPECT_EQ(t.run.status, 0) << backend << t.run.err;
    EXPECT_EQ(t.out, "\n                5\n") << backend;
    if (std::string(backend) == "backend=auto") {
      EXPECT_EQ(count_lines(t.run.err, "app_neg: jump, counted in the agent"), 1u) << t.run.err;
    }
  }
}

}  // namespace
}  // namespace probekit::testing
