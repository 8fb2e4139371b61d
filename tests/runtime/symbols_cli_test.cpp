// End-to-end: how descriptions and definitions name functions and symbols
// (one probe per address, cold parts, unknown `@SYMBOL`), and what probekit
// says about targets it cannot trace.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
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

// relay(int) has a cold part at -O2, "relay(int) [clone .cold]", entered
// for each of the 4 exceptions of 10 calls: naming relay is not naming it.
TEST(SymbolsCli, NamingAFunctionDoesNotNameItsColdPart) {
  std::string t = target_path("pk_ret_cxx-pie-O2");
  auto l = run({probekit_path(), "-l", "-n", "pid$target:a.out:relay:entry", "-c", t});
  ASSERT_EQ(l.status, 0) << l.err;
  EXPECT_EQ(listed(l.out, "relay"), 1u) << l.out;
  auto r = run({probekit_path(), "trace", "-C", "-c", t, "p:a.out:relay"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("sum 60 caught 4 last bad 9\n"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(p_relay_0\s+10\s+0\n)"))) << r.out;
}

TEST(SymbolsCli, ListingTargetWithoutAProcessIsAnError) {
  auto r = run({probekit_path(), "-l", "-n", "pid$target:a.out::entry"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("$target needs a process: give -p PID or -c"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(SymbolsCli, UnknownAtSymbolIsAnErrorWithSuggestions) {
  std::string t = target_path("pk_basic-pie-O0");
  auto r = run({probekit_path(), "trace", "-c", t + " 1 3", "p:a.out:work x=@totl"});
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.err.find("no symbol 'totl'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'total'"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.out, "(fault)"), 0u) << r.out;
  // A symbol that exists is read at each hit.
  auto ok = run({probekit_path(), "trace", "-c", t + " 1 3", "p:a.out:work x=@total:s64"});
  ASSERT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(count_lines(ok.out, "x=0"), 3u) << ok.out;
}

TEST(SymbolsCli, VerboseDescribesProbesArmedLater) {
  std::string lib = target_path("libpk_dltest.so");
  auto r = run({probekit_path(), "trace", "-v", "-C", "-c", target_path("pk_dlopen-pie-O2") + " " + lib + " 3",
                "p:a/dl libpk_dltest.so:dl_func", "p:a/w a.out:work"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.err, "a/w: site work"), 1u) << r.err;
  EXPECT_EQ(count_lines(r.err, "a/dl: site dl_func"), 1u) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(a/dl\s+3\s)"))) << r.out;
}

TEST(SymbolsCli, OwnProcessIsRefusedWithTheReason) {
  // exec keeps the shell's pid: probekit is asked to trace itself.
  auto r = run({"/bin/sh", "-c", "exec \"$0\" trace -d 1 -p $$ p:a.out:main", probekit_path()});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("probekit cannot trace itself"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("non-dumpable"), std::string::npos) << r.err;
}

TEST(SymbolsCli, ZombieIsRefusedWithTheReason) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  // Not reaped yet: a zombie.
  std::string state;
  for (int i = 0; i < 200 && state.find("State:\tZ") == std::string::npos; ++i) {
    usleep(10000);
    state = read_file("/proc/" + std::to_string(child) + "/status");
  }
  ASSERT_NE(state.find("State:\tZ"), std::string::npos);
  auto r = run({probekit_path(), "trace", "-d", "1", "-p", std::to_string(child), "p:a.out:main"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("it is a zombie"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("non-dumpable"), std::string::npos) << r.err;
  waitpid(child, nullptr, 0);
}

TEST(SymbolsCli, ThirtyTwoBitTargetIsNotSupported) {
  // A minimal i386 program: exit(3) through int 0x80.
  const uint8_t code[] = {0xb8, 1, 0, 0, 0, 0xbb, 3, 0, 0, 0, 0xcd, 0x80};
  const uint32_t base = 0x08048000, ehsize = 52, phsize = 32, total = ehsize + phsize + sizeof code;
  std::string elf = std::string("\x7f" "ELF\x01\x01\x01", 7) + std::string(9, '\0');
  auto put = [&](uint64_t v, int n) {
    for (int i = 0; i < n; ++i) elf += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put(2, 2), put(3, 2), put(1, 4), put(base + ehsize + phsize, 4), put(ehsize, 4), put(0, 4), put(0, 4);
  put(ehsize, 2), put(phsize, 2), put(1, 2), put(0, 2), put(0, 2), put(0, 2);
  put(1, 4), put(0, 4), put(base, 4), put(base, 4), put(total, 4), put(total, 4), put(5, 4), put(0x1000, 4);
  elf.append(reinterpret_cast<const char*>(code), sizeof code);
  std::string path = ::testing::TempDir() + "/pk_i386_exit3";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << elf;
  }
  ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  auto plain = run({path});
  if (plain.status != 3) GTEST_SKIP() << "this kernel does not run i386 programs";
  auto r = run({probekit_path(), "trace", "-c", path, "p:a.out:main"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("32-bit targets are not supported"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("cannot read the symbols"), std::string::npos) << r.err;
}
