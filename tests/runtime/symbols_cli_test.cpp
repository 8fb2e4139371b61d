// End-to-end: how descriptions and definitions name functions (one probe
// per address, cold parts).
#include <gtest/gtest.h>
#include <regex>

#include "harness.h"

using namespace probekit::testing;

namespace {

// Rows of a `-l` listing whose FUNCTION column is `fn`.
size_t listed(const std::string& out, const std::string& fn) {
  return count_lines(out, " " + fn + " entry");
}

}  // namespace

// glibc's malloc is also __libc_malloc (and, with debug symbols, __malloc
// and __GI___libc_malloc): one address, one probe, named malloc.
TEST(SymbolsCli, LibcListsOneProbePerAddress) {
  auto r = run({probekit_path(), "-l", "-n", "pid$target:libc.so.6::entry", "-c",
                target_path("pk_malloc-pie-O2") + " 1 1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(listed(r.out, "malloc"), 1u);
  EXPECT_EQ(listed(r.out, "free"), 1u);
  for (const char* alias : {"__libc_malloc", "__malloc", "__GI___libc_malloc", "__libc_free", "cfree", "__free"})
    EXPECT_EQ(listed(r.out, alias), 0u) << alias;
}

TEST(SymbolsCli, GlobOverAliasesFiresOncePerCall) {
  // `*malloc` matches malloc and every alias of it: 2 threads x 50 calls.
  auto r = run({probekit_path(), "-q", "-n",
                "pid$target:libc.so.6:*malloc:entry /arg0 == 777/ { @[probefunc] = count(); }", "-c",
                target_path("pk_malloc-pie-O2") + " 2 50"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("threads 2 calls 50 nonzero"), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(\n\s+(\S+)\s+(\d+)\n)"))) << r.out;
  EXPECT_EQ(m[1], "malloc");
  EXPECT_EQ(m[2], "100");
  EXPECT_EQ(count_lines(r.out, "malloc"), 1u) << r.out;
}

TEST(SymbolsCli, AnAliasNamedExplicitlyStillWorks) {
  auto r = run({probekit_path(), "-q", "-n",
                "pid$target:libc.so.6:__libc_malloc:entry /arg0 == 777/ { @[probefunc] = count(); }", "-c",
                target_path("pk_malloc-pie-O2") + " 2 50"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+__libc_malloc\s+100\n)"))) << r.out;
  // The same through `probekit trace`: a glob and an alias, one hit per call.
  auto t = run({probekit_path(), "trace", "-C", "-c", target_path("pk_malloc-pie-O2") + " 1 40",
                "p:a/b libc.so.6:*libc_malloc", "p:c/d libc.so.6:__libc_malloc"});
  ASSERT_EQ(t.status, 0) << t.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(t.out, m, std::regex(R"(a/b\s+(\d+))"))) << t.out;
  std::string glob_hits = m[1];
  ASSERT_TRUE(std::regex_search(t.out, m, std::regex(R"(c/d\s+(\d+))"))) << t.out;
  EXPECT_EQ(glob_hits, m[1].str());
  EXPECT_GE(std::stoul(glob_hits), 40u);
}

// pk_ret's coldret has a cold part at -O2 (coldret.cold): entered by a jump
// for the negative arguments, never called. coldret is called 4 times.
TEST(SymbolsCli, GlobsSkipColdParts) {
  std::string t = target_path("pk_ret-pie-O2");
  auto l = run({probekit_path(), "-l", "-n", "pid$target:a.out:*coldret*:entry", "-c", t + " cold"});
  ASSERT_EQ(l.status, 0) << l.err;
  EXPECT_EQ(listed(l.out, "coldret"), 1u) << l.out;
  EXPECT_EQ(count_lines(l.out, ".cold"), 0u) << l.out;
  auto r = run({probekit_path(), "-q", "-n", "pid$target:a.out:*coldret*:entry { @[probefunc] = count(); }",
                "-c", t + " cold"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("negative -2\nnegative -1\ncold -4\n"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+coldret\s+4\n)"))) << r.out;
  EXPECT_EQ(count_lines(r.out, "cold"), 2u) << r.out;  // "cold -4" and coldret
  // Named explicitly, the cold part is still a probe (when the compiler made one).
  auto fns = run({"nm", t});
  if (fns.out.find(" coldret.cold\n") != std::string::npos) {
    auto e = run({probekit_path(), "-l", "-n", "pid$target:a.out:coldret.cold:entry", "-c", t + " cold"});
    ASSERT_EQ(e.status, 0) << e.err;
    EXPECT_EQ(listed(e.out, "coldret.cold"), 1u) << e.out;
  }
}
