// The jump backend through the command line: counting probes of both front
// ends become jump probes (-v says so), with the same counts and output as
// the trap backend.
#include <gtest/gtest.h>

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

TEST(JumpCli, DClauseWithAPredicateStaysATrapProbe) {
  auto r = run({probekit_path(), "-q", "-v", "-n", "pid$target:a.out:work:entry /arg0 < 10/ { @ = count(); }", "-c",
                target_path("pk_basic-pie-O2") + " 2 100"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.err, ": jump"), 0u) << r.err;
  EXPECT_NE(r.out.find("20"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace probekit::testing
