// The engine through the C++ API, against the programs in tests/targets,
// each built four ways (PIE/non-PIE × -O0/-O2).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "probekit/probekit.h"
#include "proc/maps.h"
#include "proc/memory.h"
#include "util/fd.h"
#include "util/strings.h"

namespace probekit {
namespace {

std::string target(const std::string& name, const std::string& build) {
  return std::string(PK_TARGETS_DIR) + "/" + name + "-" + build;
}

std::string temp_path(const std::string& tag) {
  static int n = 0;
  return "/tmp/pk_engine_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

// Runs argv without probekit; returns its stdout.
std::string run_plain(const std::vector<std::string>& argv) {
  std::string out = temp_path("plain");
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  auto text = read_file(out);
  ::unlink(out.c_str());
  return text ? *text : "";
}

struct Traced {
  std::unique_ptr<Session> session;
  std::string out_path;
  std::string output() const {
    auto t = read_file(out_path);
    return t ? *t : "";
  }
  Traced() = default;
  Traced(Traced&&) = default;
  ~Traced() {
    session.reset();
    if (!out_path.empty()) ::unlink(out_path.c_str());
  }
};

Traced launch(const std::vector<std::string>& argv, LaunchOptions opts = {}) {
  Traced t;
  t.out_path = temp_path("out");
  opts.stdout_path = t.out_path;
  auto s = Session::launch(argv, opts);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
  if (s) t.session = std::move(*s);
  return t;
}

Probe counting(const std::string& where, std::atomic<uint64_t>* counter) {
  Probe p;
  p.where = Location::parse(where).value();
  p.pre_handler = [counter](HitContext&) { (*counter)++; };
  return p;
}

class Builds : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Engine, Builds, ::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"));

TEST_P(Builds, ThreadedHitCountIsExact) {
  std::vector<std::string> argv = {target("pk_basic", GetParam()), "4", "2000"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "threads 4 calls 2000 total 16000000\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::atomic<uint64_t> hits{0};
  std::set<int> tids;
  Probe p = counting("a.out:work", &hits);
  std::map<uint64_t, uint64_t> args;  // rdi -> count
  p.pre_handler = [&](HitContext& ctx) {
    hits++;
    tids.insert(ctx.tid());
    args[ctx.regs().rdi]++;
    EXPECT_EQ(ctx.site().symbol, "work");
    EXPECT_EQ(ctx.regs().rip, ctx.site().address);
    EXPECT_EQ(ctx.pid(), t.session->pid());
  };
  auto id = t.session->add(std::move(p));
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(t.session->stats(*id).sites, 1u);
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(hits.load(), 8000u);
  EXPECT_EQ(t.session->stats(*id).hits, 8000u);
  EXPECT_EQ(tids.size(), 4u);
  ASSERT_EQ(args.size(), 2000u);
  for (const auto& [arg, n] : args) EXPECT_EQ(n, 4u) << arg;
  EXPECT_EQ(t.output(), expected);
}

}  // namespace
}  // namespace probekit
