// End-to-end: the D front end over the engine, as a user runs it.
#include <gtest/gtest.h>

#include <regex>

#include "harness.h"

using namespace probekit::testing;

TEST(DCli, CountAggregationOnPidProbe) {
  auto r = run({probekit_path(), "-q", "-n", "pid$target:a.out:work:entry { @calls = count(); }", "-c",
                target_path("pk_basic-pie-O2") + " 3 100"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("threads 3 calls 100"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+300\n)"))) << r.out;
}

TEST(DCli, PredicateAndPrintfWithArguments) {
  auto r = run({probekit_path(), "-q", "-n",
                "pid$target:a.out:work:entry /arg0 % 2 == 0/ { printf(\"x=%d\\n\", arg0); }", "-c",
                target_path("pk_basic-nopie-O0") + " 1 6"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("x=0\nx=2\nx=4\n"), std::string::npos) << r.out;
}

TEST(DCli, BeginEndWithoutTarget) {
  auto r = run({probekit_path(), "-q", "-n", "BEGIN { printf(\"hello %s\\n\", \"world\"); exit(0); }"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello world\n");
}

TEST(DCli, TickFiresAndExits) {
  auto r = run({probekit_path(), "-q", "-n", "tick-10ms { @t = count(); } tick-10ms /++i == 5/ { exit(0); }"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+5\n)"))) << r.out;
}

TEST(DCli, CompileErrorsExit2WithCaret) {
  auto r = run({probekit_path(), "-n", "BEGIN { x = ; }"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("<command line>:1:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("^"), std::string::npos) << r.err;
}

TEST(DCli, DescriptionMatchingNothingExits2) {
  auto r = run({probekit_path(), "-n", "pid$target:a.out:nosuchfunction:entry { }", "-c",
                target_path("pk_basic-pie-O2") + " 1 1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("does not match any probes"), std::string::npos) << r.err;
}

TEST(DCli, ListPidProbes) {
  auto r = run({probekit_path(), "-l", "-n", "pid$target:a.out:wor*:entry", "-c",
                target_path("pk_basic-pie-O2") + " 1 1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
            "   ID   PROVIDER            MODULE                          FUNCTION NAME");
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+1\s+pid\d+\s+a\.out\s+work entry\n)"))) << r.out;
}
