// USDT probes through the command line, against tests/targets/pk_usdt (an
// executable with <sys/sdt.h> probes, one behind a semaphore, a linked
// library and a dlopen'ed one with a probe each) and the system's python3.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "harness.h"

namespace probekit::testing {
namespace {

const char* const kBuilds[] = {"pie-O0", "pie-O2", "nopie-O0", "nopie-O2"};

std::string dl_lib() { return target_path("pk_usdtdl.so"); }
std::string command(const std::string& build, int n = 4) {
  return target_path("pk_usdt-" + build) + " " + dl_lib() + " " + std::to_string(n);
}
// What pk_usdt prints for N=4 when its guarded probe fired `guarded` times.
// Skips a test when the target was not built (no <sys/sdt.h>).
#define PK_NEED_USDT_TARGET()                                                                            \
  if (::access(target_path("pk_usdt-pie-O2").c_str(), X_OK) != 0)                                        \
  GTEST_SKIP() << "tests/targets/pk_usdt was not built: <sys/sdt.h> is missing (Debian: systemtap-sdt-dev)"

std::string program_output(int guarded) { return "sum 66 guarded " + std::to_string(guarded) + "\n"; }

TEST(UsdtCli, DArgumentsIntegersStringsAndConstantsFromTheNote) {
  PK_NEED_USDT_TARGET();
  for (const char* build : kBuilds) {
    SCOPED_TRACE(build);
    auto r = run({probekit_path(), "-q", "-n",
                  "pkapp$target:a.out::tick { printf(\"%d %s %d\\n\", arg0, copyinstr(arg1), arg2); }"
                  "pkapp$target:::neg { printf(\"%d %d %d\\n\", arg0, arg1, args[0]); }",
                  "-c", command(build)});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out,
              "0 name-0 5\n0 0 0\n1 name-1 5\n-1 1000000000000 -1\n2 name-2 5\n-2 2000000000000 -2\n"
              "3 name-0 5\n-3 3000000000000 -3\n" + program_output(0) + "\n");  // + the blank line at the end
  }
}

TEST(UsdtCli, SemaphoreIsRaisedWhileTheGuardedProbeIsArmed) {
  PK_NEED_USDT_TARGET();
  for (const char* build : kBuilds) {
    SCOPED_TRACE(build);
    auto plain = run({"/bin/sh", "-c", command(build)});
    EXPECT_EQ(plain.out, program_output(0));
    auto r = run({probekit_path(), "-q", "-n", "pkapp$target:::guarded { @ = sum(arg0); }", "-c", command(build)});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, program_output(4) + "\n               60\n");
  }
}

TEST(UsdtCli, ProbesInALinkedAndADlopenedLibrary) {
  PK_NEED_USDT_TARGET();
  auto r = run({probekit_path(), "-q", "-n",
                "pklib$target:::work { @[probemod, copyinstr(arg1)] = sum(arg0); }"
                "pklib$target:pk_usdtdl.so::work { @[probemod, copyinstr(arg1)] = sum(arg0 + 100); }",
                "-c", command("pie-O2")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, program_output(0) +
                       "\n  libpk_usdtlib.so                                    lib                                                               6"
                       // both clauses match the dlopen'ed library's probe: 406 + 6
                       "\n  pk_usdtdl.so                                        lib                                                             412\n");
}

TEST(UsdtCli, CountingProbesAreTheSameWithEitherBackend) {
  PK_NEED_USDT_TARGET();
  RunResult out[2];
  int i = 0;
  // pie-O2's guarded site (nop; mov eax, 1) can be a jump; tick's and
  // work's are followed by a call, so -x backend=jump refuses them.
  auto refused = run({probekit_path(), "-x", "backend=jump", "-n", "pkapp$target:::tick { @ = count(); }", "-c",
                      command("pie-O2")});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("cannot place a jump probe at 'app_tick+0x"), std::string::npos) << refused.err;
  for (const char* b : {"backend=jump", "backend=trap"}) {
    out[i] = run({probekit_path(), "-v", "-x", b, "-n", "pkapp$target:::guarded { @[probeprov, probename] = count(); }",
                  "-c", command("pie-O2")});
    ASSERT_EQ(out[i].status, 0) << out[i].err;
    ++i;
  }
  std::string norm0 = normalize(out[0].out, "pkapp[0-9]+", "pkappPID");
  norm0 = normalize(norm0, "pklib[0-9]+", "pklibPID");
  EXPECT_TRUE(std::regex_match(norm0, std::regex(program_output(4) + "\n  pkappPID +guarded +4\n"))) << norm0;
  EXPECT_EQ(norm0, normalize(out[1].out, "pkapp[0-9]+", "pkappPID"));
  EXPECT_EQ(count_lines(out[0].err, ": jump, counted in the agent"), 1u) << out[0].err;
  // auto: the same counts, each site as it can be.
  auto mixed = run({probekit_path(), "-n",
                    "pkapp$target:::tick, pkapp$target:::guarded, pklib$target:::work { @[probename] = count(); }", "-c",
                    command("pie-O2")});
  ASSERT_EQ(mixed.status, 0) << mixed.err;
  EXPECT_TRUE(std::regex_search(mixed.out, std::regex(R"(guarded +4\n +tick +4\n +work +4\n)"))) << mixed.out;
  EXPECT_EQ(count_lines(out[1].err, ": jump"), 0u) << out[1].err;
}

TEST(UsdtCli, ListsProbesWithTheirArguments) {
  PK_NEED_USDT_TARGET();
  auto r = run({probekit_path(), "-l", "-v", "-n", "pkapp$target:::", "-c", command("pie-O0")});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string out = normalize(r.out, "pkapp[0-9]+", "pkappPID");
  EXPECT_EQ(count_lines(out, "pkappPID"), 3u) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(pkappPID +a\.out +app_tick tick)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(pkappPID +a\.out +pk_usdt_guarded guarded)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(args\[0\]: int32_t \(-4@)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(args\[2\]: int32_t \(-4@\$5\))"))) << out;
  EXPECT_EQ(count_lines(out, "semaphore: 0x"), 1u) << out;
}

TEST(UsdtCli, TraceDefinitionsReadTheNotesArguments) {
  PK_NEED_USDT_TARGET();
  for (const char* build : kBuilds) {
    SCOPED_TRACE(build);
    auto r = run({probekit_path(), "trace", "-c", command(build),
                  "u:a.out:pkapp:tick i=$arg1 name=$arg2:string c=$arg3", "u:a.out:pkapp:neg $arg1 $arg2",
                  "u:a.out:pkapp:guarded v=$arg1"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::string out = normalize(r.out, R"(^ *\S+-[0-9]+ +\[[0-9]+\] +[0-9.]+: )", "");
    out = normalize(out, R"(\(([a-z_]+)\+0x[0-9a-f]+\))", "($1)");
    out = normalize(out, R"(\n *\S+-[0-9]+ +\[[0-9]+\] +[0-9.]+: )", "\n");
    EXPECT_EQ(out,
              "tick: (app_tick) i=0 name=\"name-0\" c=5\nneg: (app_neg) arg1=0 arg2=0\nguarded: (pk_usdt_guarded) v=0\n"
              "tick: (app_tick) i=1 name=\"name-1\" c=5\nneg: (app_neg) arg1=-1 arg2=1000000000000\nguarded: (pk_usdt_guarded) v=10\n"
              "tick: (app_tick) i=2 name=\"name-2\" c=5\nneg: (app_neg) arg1=-2 arg2=2000000000000\nguarded: (pk_usdt_guarded) v=20\n"
              "tick: (app_tick) i=3 name=\"name-0\" c=5\nneg: (app_neg) arg1=-3 arg2=3000000000000\nguarded: (pk_usdt_guarded) v=30\n" +
                  program_output(4));
  }
}

TEST(UsdtCli, TraceCountsLibrarySitesLoadedAtStartAndByDlopen) {
  PK_NEED_USDT_TARGET();
  // (--backend=jump refuses these sites: a call follows each nop.)
  for (const char* b : {"--backend=auto", "--backend=trap"}) {
    auto r = run({probekit_path(), "trace", "-C", b, "-c", command("pie-O2"), "u:libpk_usdtlib.so:pklib:work",
                  "u:" + dl_lib() + ":pklib:work", "u:a.out:pkapp:function-missing-is-not-here"});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("no USDT probe 'pkapp:function-missing-is-not-here' in 'a.out'; it has "), std::string::npos)
        << r.err;
    for (const char* n : {"pkapp:tick", "pkapp:neg", "pkapp:guarded"}) EXPECT_NE(r.err.find(n), std::string::npos) << n;
    r = run({probekit_path(), "trace", "-C", b, "-c", command("pie-O2"), "u:libpk_usdtlib.so:pklib:work",
             "u:" + dl_lib() + ":pklib:work"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find(program_output(0)), std::string::npos);
    EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(sdt_pklib/work +4 +0\n.*sdt_pklib/work +4 +0\n)"))) << r.out;
  }
}

TEST(UsdtCli, UnknownProviderAndBadDefinitionsAreClearErrors) {
  PK_NEED_USDT_TARGET();
  auto r = run({probekit_path(), "-n", "nosuch$target:::x { }", "-c", command("pie-O2")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("provider 'nosuch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("USDT providers"), std::string::npos) << r.err;
  r = run({probekit_path(), "trace", "-c", command("pie-O2"), "u:a.out:pkapp"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("a USDT probe is named MODULE:PROVIDER:NAME"), std::string::npos) << r.err;
  r = run({probekit_path(), "trace", "-c", command("pie-O2"), "u:a.out:pkapp:tick $arg4"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("has 3 arguments"), std::string::npos) << r.err;
}

// python3 built with --with-dtrace (Debian's /usr/bin/python3 is) has
// function__entry with (filename, function name, line number) and a
// semaphore it tests first. CPython 3.11 reaches its function__entry site
// only while a trace or profile function is set (function__return fires
// regardless; measured: 0 entries and 107 returns for a plain script), so
// the script sets a no-op profiler around the calls it counts.
TEST(UsdtCli, PythonFunctionEntriesAreCounted) {
  const std::string python = "/usr/bin/python3";
  if (::access(python.c_str(), X_OK) != 0) GTEST_SKIP() << python << " is not installed";
  auto probe = run({probekit_path(), "-l", "-n", "python$target:::function-entry", "-c", python + " -c pass"});
  if (probe.status != 0 || count_lines(probe.out, "function-entry") == 0)
    GTEST_SKIP() << python << " has no USDT function-entry probe (built without --with-dtrace): " << probe.err;
  const std::string script = ::testing::TempDir() + "/pk_usdt_script.py";
  {
    std::ofstream f(script);
    f << "import sys\n\ndef pk_alpha(x):\n    return x + 1\n\ndef pk_beta(x):\n    return pk_alpha(x) * 2\n\n"
         "sys.setprofile(lambda *a: None)\ntotal = 0\nfor i in range(7):\n    total += pk_beta(i)\n"
         "for i in range(3):\n    total += pk_alpha(i)\nsys.setprofile(None)\nprint(total)\n";
  }
  const std::string prog = "python$target:::function-entry /copyinstr(arg0) == \"" + script +
                           "\"/ { @[copyinstr(arg1)] = count(); }";
  auto plain = run({python, script});
  ASSERT_EQ(plain.out, "62\n");
  auto r = run({probekit_path(), "-q", "-n", prog, "-c", python + " " + script});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "62\n\n  pk_beta                                                           7\n"
                   "  pk_alpha                                                         10\n");
  ::unlink(script.c_str());
}

}  // namespace
}  // namespace probekit::testing
