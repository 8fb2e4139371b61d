// Probe::semaphore (USDT is-enabled counters) against tests/targets/pk_usdt:
// the guarded probe fires only while the session holds the word raised, in
// both backends, and an attached process is left with the word as found.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elf/elf_file.h"
#include "launch_support.h"
#include "probekit/probekit.h"
#include "proc/memory.h"

namespace probekit {
namespace {

using namespace probekit::testing;

const elf::SdtNote* note(const elf::ElfFile& f, const std::string& name) {
  for (const auto& n : f.sdt_notes()) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

uint16_t read_u16(pid_t pid, uint64_t addr) {
  auto mem = proc::ProcessMemory::open(pid);
  uint16_t v = 0xffff;
  if (mem) (void)mem->read_exact(addr, &v, sizeof v);
  return v;
}

// Skips a test when the target was not built (no <sys/sdt.h>).
#define PK_NEED_USDT_TARGET()                                                                            \
  if (::access(target("pk_usdt", "pie-O2").c_str(), X_OK) != 0)                                          \
  GTEST_SKIP() << "tests/targets/pk_usdt was not built: <sys/sdt.h> is missing (Debian: systemtap-sdt-dev)"

class Builds : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Semaphore, Builds, ::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"));

TEST_P(Builds, GuardedProbeFiresWhileArmedInBothBackends) {
  PK_NEED_USDT_TARGET();
  const std::string exe = target("pk_usdt", GetParam());
  const std::vector<std::string> argv = {exe, std::string(PK_TARGETS_DIR) + "/pk_usdtdl.so", "4"};
  const std::string plain = run_plain(argv);
  ASSERT_EQ(plain.substr(plain.find("guarded")), "guarded 0\n");
  auto f = elf::ElfFile::open(exe);
  ASSERT_TRUE(f);
  const elf::SdtNote* n = note(**f, "guarded");
  ASSERT_NE(n, nullptr);
  ASSERT_NE(n->semaphore, 0u);
  for (BackendChoice backend : {BackendChoice::trap, BackendChoice::jump}) {
    LaunchOptions opts;
    opts.backend = backend;
    auto t = launch(argv, opts);
    ASSERT_TRUE(t.session);
    Probe p;
    p.where.module = "a.out";
    p.where.address = n->pc;
    p.semaphore = n->semaphore;
    p.count_only = backend == BackendChoice::jump;
    std::vector<uint64_t> seen;
    if (!p.count_only) p.pre_handler = [&](HitContext& ctx) { seen.push_back(ctx.regs().rip); };
    auto id = t.session->add(std::move(p));
    ASSERT_TRUE(id) << id.error().message();
    auto st = t.session->run();
    ASSERT_TRUE(st);
    EXPECT_EQ(t.session->stats(*id).hits, 4u);
    EXPECT_EQ(t.output(), plain.substr(0, plain.find("guarded")) + "guarded 4\n");
    if (backend == BackendChoice::trap) {
      EXPECT_EQ(seen.size(), 4u);
    }
  }
}

TEST(Semaphore, AttachedProcessIsLeftWithTheCounterAsFound) {
  PK_NEED_USDT_TARGET();
  const std::string exe = target("pk_usdt", "pie-O2");
  auto f = elf::ElfFile::open(exe);
  ASSERT_TRUE(f);
  const elf::SdtNote* n = note(**f, "guarded");
  ASSERT_NE(n, nullptr);
  std::string out = temp_path("sem");
  pid_t child = start_printing({exe, "wait"}, out, 8);
  ASSERT_GT(child, 0);
  {
    auto s = Session::attach(child);
    ASSERT_TRUE(s) << s.error().message();
    auto addr = (*s)->lookup_symbol("pkapp_guarded_semaphore");
    ASSERT_TRUE(addr);
    EXPECT_EQ(read_u16(child, *addr), 0);
    auto make = [&] {
      Probe p;
      p.where.module = "a.out";
      p.where.address = n->pc;
      p.semaphore = n->semaphore;
      p.pre_handler = [](HitContext&) {};
      return p;
    };
    auto a = (*s)->add(make());
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(read_u16(child, *addr), 1);
    auto b = (*s)->add(make());
    ASSERT_TRUE(b);
    EXPECT_EQ(read_u16(child, *addr), 2);
    ASSERT_TRUE((*s)->remove(*a));
    EXPECT_EQ(read_u16(child, *addr), 1);
    ASSERT_TRUE((*s)->run(0.05));
    ASSERT_TRUE((*s)->detach());
    EXPECT_EQ(read_u16(child, *addr), 0);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

}  // namespace
}  // namespace probekit
