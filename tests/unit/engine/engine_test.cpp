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

#include "launch_support.h"
#include "probekit/probekit.h"
#include "proc/maps.h"
#include "proc/memory.h"
#include "util/fd.h"
#include "util/strings.h"

namespace probekit {
namespace {

using namespace probekit::testing;


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

// Probes on the first instruction of functions that start with each kind of
// instruction, and at offsets inside them: stdout must not change and every
// probe must fire once per call.
TEST_P(Builds, EveryInstructionKindAtEntryAndInside) {
  std::vector<std::string> argv = {target("pk_insns", GetParam()), "25"};
  std::string expected = run_plain(argv);
  ASSERT_NE(expected.find("riprel"), std::string::npos);
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  const char* wheres[] = {"f_riprel", "f_riprel+7", "f_lea", "f_lea+7", "f_cmp", "f_cmp+8", "f_jmp",
                          "f_jmp+4",  "f_call",     "f_call+5", "f_push", "f_push+1", "f_push+4", "f_jcc",
                          "f_sse",    "f_sse+8",    "f_ret",   "f_store", "f_store+7", "f_helper"};
  std::map<std::string, Counter> hits;
  for (const char* w : wheres) {
    auto c = add_counter(*t.session, std::string("a.out:") + w);
    ASSERT_TRUE(c.ok()) << w << ": " << c.error().message();
    hits[w] = *c;
  }
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), expected);
  for (const char* w : wheres) {
    const uint64_t want = 25;
    EXPECT_EQ(hits[w].load(), want) << w;
  }
}

TEST_P(Builds, PostHandlersSeeTheInstructionsEffect) {
  std::vector<std::string> argv = {target("pk_insns", GetParam()), "5"};
  std::string expected = run_plain(argv);
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  // f_riprel: mov rax, [rip+g_value] (41); f_push: push rbx; f_call: call f_helper.
  std::vector<uint64_t> rax_after, rsp_delta, rip_after;
  Probe a;
  a.where = Location::parse("a.out:f_riprel").value();
  a.post_handler = [&](HitContext& ctx) {
    rax_after.push_back(ctx.regs().rax);
    rip_after.push_back(ctx.regs().rip - ctx.site().address);
  };
  ASSERT_TRUE(t.session->add(a).ok());
  uint64_t rsp_before = 0;
  Probe b;
  b.where = Location::parse("a.out:f_push").value();
  b.pre_handler = [&](HitContext& ctx) { rsp_before = ctx.regs().rsp; };
  b.post_handler = [&](HitContext& ctx) { rsp_delta.push_back(rsp_before - ctx.regs().rsp); };
  ASSERT_TRUE(t.session->add(b).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(rax_after, std::vector<uint64_t>(5, 41));
  EXPECT_EQ(rip_after, std::vector<uint64_t>(5, 7));
  EXPECT_EQ(rsp_delta, std::vector<uint64_t>(5, 8));
}

TEST_P(Builds, LibcProbeAtLaunchIsArmedBeforeMain) {
  std::vector<std::string> argv = {target("pk_basic", GetParam()), "2", "3"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  // libc is not mapped yet at exec: the probe is pending until ld.so maps it.
  auto creates = add_counter(*t.session, "libc.so.6:pthread_create");
  ASSERT_TRUE(creates.ok()) << creates.error().message();
  EXPECT_EQ(t.session->stats(creates->id).sites, 0u);
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(creates->load(), 2u);
  EXPECT_EQ(t.output(), "threads 2 calls 3 total 18\n");
}

// Issue 9: ld.so relocates libc (calling its IFUNC resolvers) and runs
// __libc_early_init before it says RT_CONSISTENT. A probe added at launch
// arms when libc's code is mapped, so it sees those calls too.
TEST_P(Builds, LibcEarlyInitAndIfuncResolversFireAtLaunch) {
  std::vector<std::string> argv = {target("pk_basic", GetParam()), "1", "2"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::atomic<uint64_t> early{0}, strlen_resolver{0}, memset_resolver{0};
  uint64_t resolved_before_early = 0;
  Probe early_probe = counting("libc.so.6:__libc_early_init", &early);
  early_probe.pre_handler = [&](HitContext&) {
    early++;
    resolved_before_early = strlen_resolver.load() + memset_resolver.load();
  };
  auto id1 = t.session->add(std::move(early_probe));
  auto id2 = t.session->add(counting("libc.so.6:strlen", &strlen_resolver));
  auto id3 = t.session->add(counting("libc.so.6:memset", &memset_resolver));
  ASSERT_TRUE(id1.ok() && id2.ok() && id3.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), "threads 1 calls 2 total 4\n");
  EXPECT_EQ(early.load(), 1u);  // once per process, from ld.so's dl_main
  // strlen and memset are STT_GNU_IFUNC: the symbol is the resolver, which
  // ld.so calls while it relocates libc (its IRELATIVE relocations), before
  // __libc_early_init; later calls come only from lazy PLT binding.
  EXPECT_GE(strlen_resolver.load(), 1u);
  EXPECT_GE(memset_resolver.load(), 1u);
  EXPECT_GE(resolved_before_early, 2u);
}

TEST_P(Builds, OwnSigtrapAndSignalStormsAreDeliveredExactly) {
  std::vector<std::string> argv = {target("pk_signals", GetParam()), "5", "3000"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  auto hits = add_counter(*t.session, "a.out:work");
  ASSERT_TRUE(hits.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), "traps 10 storm 3000/3000\n");
  EXPECT_GE(hits->load(), 10u);
}

TEST_P(Builds, ForkChildIsFollowed) {
  std::vector<std::string> argv = {target("pk_fork", GetParam()), "fork"};
  std::string expected = run_plain(argv);
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::map<int, int> by_pid;
  Probe p;
  p.where = Location::parse("a.out:work").value();
  p.pre_handler = [&](HitContext& ctx) { by_pid[ctx.pid()]++; };
  ASSERT_TRUE(t.session->add(p).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), expected);
  ASSERT_EQ(by_pid.size(), 2u);
  EXPECT_EQ(by_pid[t.session->pid()], 5);
  for (auto [pid, n] : by_pid) {
    if (pid != t.session->pid()) {
      EXPECT_EQ(n, 5);
    }
  }
}

TEST_P(Builds, ForkChildIsCleanedWhenNotFollowed) {
  std::vector<std::string> argv = {target("pk_fork", GetParam()), "fork"};
  std::string expected = run_plain(argv);
  LaunchOptions opts;
  opts.follow_forks = false;
  auto t = launch(argv, opts);
  ASSERT_TRUE(t.session);
  std::map<int, int> by_pid;
  Probe p;
  p.where = Location::parse("a.out:work").value();
  p.pre_handler = [&](HitContext& ctx) { by_pid[ctx.pid()]++; };
  ASSERT_TRUE(t.session->add(p).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), expected);  // the child ran its 5 calls untraced and did not die
  ASSERT_EQ(by_pid.size(), 1u);
  EXPECT_EQ(by_pid[t.session->pid()], 5);
}

TEST_P(Builds, VforkExecChildIsReResolved) {
  std::vector<std::string> argv = {target("pk_fork", GetParam()), "vfork"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "child 10\nparent 9 child-status 0\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::map<int, int> by_pid;
  Probe p;
  p.where = Location::parse("a.out:work").value();
  p.pre_handler = [&](HitContext& ctx) { by_pid[ctx.pid()]++; };
  ASSERT_TRUE(t.session->add(p).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(by_pid[t.session->pid()], 5);
  int child_hits = 0;
  for (auto [pid, n] : by_pid) {
    if (pid != t.session->pid()) child_hits += n;
  }
  EXPECT_EQ(child_hits, 4);  // the exec'ed image's work() is probed again
}

TEST_P(Builds, VforkChildNotFollowedKeepsParentProbes) {
  std::vector<std::string> argv = {target("pk_fork", GetParam()), "vfork"};
  std::string expected = run_plain(argv);
  LaunchOptions opts;
  opts.follow_forks = false;
  auto t = launch(argv, opts);
  ASSERT_TRUE(t.session);
  std::map<int, int> by_pid;
  Probe p;
  p.where = Location::parse("a.out:work").value();
  p.pre_handler = [&](HitContext& ctx) { by_pid[ctx.pid()]++; };
  ASSERT_TRUE(t.session->add(p).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), expected);
  ASSERT_EQ(by_pid.size(), 1u);
  EXPECT_EQ(by_pid[t.session->pid()], 5);
}

TEST_P(Builds, LateDlopenArmsPendingProbe) {
  std::string lib = std::string(PK_TARGETS_DIR) + "/libpk_dltest.so";
  std::vector<std::string> argv = {target("pk_dlopen", GetParam()), lib, "7"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "sum 727\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::atomic<uint64_t> hits{0};
  Probe p = counting("libpk_dltest.so:dl_func", &hits);
  p.allow_pending = true;
  std::vector<uint64_t> args;
  p.pre_handler = [&](HitContext& ctx) {
    hits++;
    args.push_back(ctx.regs().rdi);
    EXPECT_EQ(ctx.site().module, "libpk_dltest.so");
  };
  auto id = t.session->add(p);
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(t.session->stats(*id).sites, 0u);
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(hits.load(), 7u);
  EXPECT_EQ(args, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST_P(Builds, AttachTraceDetachRestoresBytes) {
  std::string out = temp_path("spin");
  std::string path = target("pk_spin", GetParam());
  pid_t child = start_printing({path, "2"}, out, 7);
  auto before = text_bytes(child, "pk_spin");
  auto libc_before = text_bytes(child, "libc.so.6");
  auto maps_before = mappings(child);
  ASSERT_FALSE(before.empty());
  {
    auto s = Session::attach(child, test_options());
    ASSERT_TRUE(s.ok()) << s.error().message();
    auto hits = add_counter(**s, "work");
    auto sleeps = add_counter(**s, "libc.so.6:nanosleep");
    ASSERT_TRUE(hits.ok() && sleeps.ok());
    auto how = (*s)->describe(hits->id);
    ASSERT_EQ(how.size(), 1u);
    EXPECT_EQ(how[0].find(": jump") != std::string::npos, !trap_run()) << how[0];
    EXPECT_NE(text_bytes(child, "pk_spin"), before);  // the int3 or jmp is there
    auto rc = (*s)->run(0.3);
    ASSERT_TRUE(rc.ok()) << rc.error().message();
    EXPECT_EQ(*rc, -1);
    EXPECT_GT(hits->load(), 10u);
    EXPECT_GT(sleeps->load(), 10u);
    ASSERT_TRUE((*s)->detach().ok());
    EXPECT_EQ((*s)->detach_notes(), std::vector<std::string>{});
  }
  EXPECT_EQ(text_bytes(child, "pk_spin"), before);
  EXPECT_EQ(text_bytes(child, "libc.so.6"), libc_before);
  EXPECT_EQ(mappings(child), maps_before);  // nothing of ours left mapped
  auto size = read_file(out).value_or("").size();
  for (int i = 0; i < 5000 && read_file(out).value_or("").size() == size; ++i) ::usleep(1000);
  EXPECT_GT(read_file(out).value_or("").size(), size);  // alive and printing
  EXPECT_EQ(::kill(child, 0), 0);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

TEST(Engine, StopFromAnotherThreadEndsRunAndDetaches) {
  auto t = launch({target("pk_spin", "pie-O2"), "1"});
  ASSERT_TRUE(t.session);
  std::atomic<uint64_t> hits{0};
  ASSERT_TRUE(t.session->add(counting("work", &hits)).ok());
  Session* s = t.session.get();
  std::thread stopper([&] {
    while (hits.load() < 50) ::usleep(1000);
    s->stop();
  });
  auto rc = s->run();
  stopper.join();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, -1);
  pid_t pid = s->pid();
  ASSERT_TRUE(s->detach().ok());
  EXPECT_EQ(::kill(pid, 0), 0);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST(Engine, EnableDisableRemove) {
  auto t = launch({target("pk_basic", "pie-O0"), "1", "100"});
  ASSERT_TRUE(t.session);
  std::atomic<uint64_t> a{0}, b{0};
  auto ia = t.session->add(counting("work", &a));
  auto ib = t.session->add(counting("work", &b));
  ASSERT_TRUE(ia.ok() && ib.ok());
  EXPECT_EQ(t.session->stats(*ia).sites, 1u);
  ASSERT_TRUE(t.session->disable(*ib).ok());
  Probe c;
  c.where = Location::parse("work").value();
  std::atomic<uint64_t> calls{0};
  ProbeId ic = 0;
  c.pre_handler = [&](HitContext&) {
    if (++calls == 50) {
      (void)t.session->remove(*ia);
      (void)t.session->enable(*ib);
    }
  };
  auto r = t.session->add(c);
  ASSERT_TRUE(r.ok());
  ic = *r;
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(a.load(), 50u);
  EXPECT_EQ(b.load(), 50u);
  EXPECT_EQ(calls.load(), 100u);
  EXPECT_EQ(t.session->stats(ic).hits, 100u);
  EXPECT_EQ(t.session->stats(*ia).hits, 0u);  // removed: no stats
  EXPECT_EQ(t.output(), "threads 1 calls 100 total 10000\n");
}

TEST(Engine, NaiveBreakpointsCountTheSameSingleThreaded) {
  LaunchOptions opts;
  opts.naive_breakpoints = true;
  auto t = launch({target("pk_insns", "pie-O2"), "10"}, opts);
  ASSERT_TRUE(t.session);
  std::atomic<uint64_t> h1{0}, h2{0}, h3{0};
  ASSERT_TRUE(t.session->add(counting("f_riprel", &h1)).ok());
  ASSERT_TRUE(t.session->add(counting("f_push+1", &h2)).ok());
  ASSERT_TRUE(t.session->add(counting("f_call", &h3)).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(h1.load(), 10u);
  EXPECT_EQ(h2.load(), 10u);
  EXPECT_EQ(h3.load(), 10u);
  EXPECT_EQ(t.output(), run_plain({target("pk_insns", "pie-O2"), "10"}));
}

TEST(Engine, ResolutionErrors) {
  auto t = launch({target("pk_basic", "pie-O0")});
  ASSERT_TRUE(t.session);
  Probe p;
  p.where = Location::parse("a.out:wrok").value();
  auto r = t.session->add(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::no_such_symbol);
  EXPECT_NE(r.error().message().find("did you mean 'work'"), std::string::npos) << r.error().message();

  p.where = Location::parse("libnothere.so:f").value();
  r = t.session->add(p);
  // Before main the libraries are not loaded: an unknown module is pending.
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(t.session->stats(*r).sites, 0u);

  p.where = Location::parse("a.out:work+2").value();  // inside "mov rbp, rsp" (-O0)
  r = t.session->add(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::not_instruction_boundary) << r.error().message();

  p.where = Location::parse("a.out:work+100000").value();
  r = t.session->add(p);
  ASSERT_FALSE(r.ok());

  Probe rp;
  rp.where = Location::parse("a.out:work+1").value();
  rp.return_handler = [](HitContext&, void*) {};
  r = t.session->add(rp);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::usage);
  EXPECT_EQ(r.error().message(),
            "a return probe goes on a function's entry: 'work+0x1' is not one; name the function without an offset");

  auto mods = t.session->modules();
  ASSERT_GE(mods.size(), 2u);
  EXPECT_TRUE(mods[0].is_main_executable);
  EXPECT_EQ(mods[0].name, "pk_basic-pie-O0");
  auto funcs = t.session->functions("a.out");
  ASSERT_TRUE(funcs.ok());
  bool found = false;
  for (const auto& f : *funcs) found |= f.name == "work";
  EXPECT_TRUE(found);
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
}

TEST(Engine, AfterStartupUnknownModuleIsAnError) {
  auto t = launch({target("pk_spin", "pie-O0")});
  ASSERT_TRUE(t.session);
  std::atomic<uint64_t> hits{0};
  ASSERT_TRUE(t.session->add(counting("work", &hits)).ok());
  // Past start-up: every library it needs is mapped (a timed run could end
  // before ld.so got there on a slow machine).
  ASSERT_TRUE(t.session->load_libraries().ok());
  Probe p;
  p.where = Location::parse("libnothere.so:f").value();
  auto r = t.session->add(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::no_such_module);
  EXPECT_NE(r.error().message().find("libc.so.6"), std::string::npos) << r.error().message();
  p.allow_pending = true;
  EXPECT_TRUE(t.session->add(p).ok());
  p.where = Location::parse("libc.so.6:malloc").value();
  p.allow_pending = false;
  EXPECT_TRUE(t.session->add(p).ok());  // outside run(): stops a thread to arm it
  auto rc = t.session->run(0.1);
  ASSERT_TRUE(rc.ok());
  pid_t pid = t.session->pid();
  ASSERT_TRUE(t.session->detach().ok());
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// Issue 2: every malloc of a busy multi-threaded program, the program unharmed.
Probe malloc_sizes(std::map<uint64_t, uint64_t>* sizes) {
  Probe p;
  p.where = Location::parse("libc.so.6:malloc").value();
  p.pre_handler = [sizes](HitContext& ctx) { (*sizes)[ctx.regs().rdi]++; };
  return p;
}

TEST_P(Builds, EveryMallocOfAThreadedProgram) {
  std::vector<std::string> argv = {target("pk_malloc", GetParam()), "4", "1500"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "threads 4 calls 1500 nonzero 5976\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::map<uint64_t, uint64_t> sizes;
  ASSERT_TRUE(t.session->add(malloc_sizes(&sizes)).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(sizes[777], 6000u);
  EXPECT_EQ(t.output(), expected);
}

TEST_P(Builds, AttachedMallocProbeSeesEveryCall) {
  std::string out = temp_path("mattach");
  std::string path = target("pk_malloc", GetParam());
  int in[2];
  ASSERT_EQ(::pipe(in), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::dup2(in[0], 0);
    ::close(in[1]);
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::execl(path.c_str(), path.c_str(), "4", "1000", "wait", (char*)nullptr);
    ::_exit(127);
  }
  ::close(in[0]);
  // Wait until it blocks in read() on stdin (start-up done: libc mapped and
  // relocated); libc merely appearing in its maps raced with ld.so.
  for (int i = 0; i < 5000; ++i) {
    auto sc = read_file("/proc/" + std::to_string(child) + "/syscall").value_or("");
    if (sc.rfind("0 0x0 ", 0) == 0) break;  // read(0, ...)
    ::usleep(1000);
  }
  auto s = Session::attach(child, test_options());
  ASSERT_TRUE(s.ok()) << s.error().message();
  std::map<uint64_t, uint64_t> sizes;
  ASSERT_TRUE((*s)->add(malloc_sizes(&sizes)).ok());
  ASSERT_EQ(::write(in[1], "g", 1), 1);
  auto rc = (*s)->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(sizes[777], 4000u);
  EXPECT_EQ(read_file(out).value_or(""), "threads 4 calls 1000 nonzero 3984\n");
  ::close(in[1]);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

TEST(Engine, JobControlStopAndContinueStillWork) {
  auto t = launch({target("pk_spin", "pie-O2")});
  ASSERT_TRUE(t.session);
  std::atomic<uint64_t> hits{0};
  ASSERT_TRUE(t.session->add(counting("work", &hits)).ok());
  pid_t pid = t.session->pid();
  // Runs on this thread (the tracer); a helper thread drives job control.
  std::atomic<int> phase{0};
  uint64_t hits_while_stopped = 0;
  std::thread driver([&] {
    while (hits.load() < 20) ::usleep(1000);
    ::kill(pid, SIGSTOP);
    // Wait until the stop took effect (state T or t).
    for (int i = 0; i < 2000; ++i) {
      auto stat = read_file("/proc/" + std::to_string(pid) + "/stat").value_or("");
      auto close = stat.rfind(')');
      if (close != std::string::npos && close + 2 < stat.size() && (stat[close + 2] == 'T' || stat[close + 2] == 't')) break;
      ::usleep(1000);
    }
    ::usleep(20000);
    uint64_t a = hits.load();
    ::usleep(50000);
    hits_while_stopped = hits.load() - a;
    ::kill(pid, SIGCONT);
    uint64_t b = hits.load();
    while (hits.load() < b + 20) ::usleep(1000);
    phase = 1;
    t.session->stop();
  });
  auto rc = t.session->run(20.0);
  driver.join();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(phase.load(), 1);
  EXPECT_EQ(hits_while_stopped, 0u);  // stopped means stopped
  ASSERT_TRUE(t.session->detach().ok());
  EXPECT_EQ(::kill(pid, 0), 0);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// The copied instruction faults: the program must see the fault at the
// original address (its handler reads uc_mcontext's rip), and fault_handler
// runs once per fault.
TEST_P(Builds, FaultInTheCopyIsReportedAtTheSite) {
  std::vector<std::string> argv = {target("pk_insns", GetParam()), "fault"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "fault 0 at f_load addr 16\nfault 1 at f_load addr 16\nfault 2 at f_load addr 16\nsum 5\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::vector<int> faults;
  std::atomic<uint64_t> hits{0};
  Probe p = counting("a.out:f_load", &hits);
  p.fault_handler = [&](HitContext& ctx, int signo) {
    faults.push_back(signo);
    EXPECT_EQ(ctx.regs().rip, ctx.site().address);
  };
  ASSERT_TRUE(t.session->add(p).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(hits.load(), 4u);
  EXPECT_EQ(faults, std::vector<int>(3, SIGSEGV));
}

// load_libraries() returns once ld.so has mapped the start-up libraries and
// before it relocates them: a probe added then still sees ld.so call libc's
// IFUNC resolvers and __libc_early_init (D adds its probes there).
TEST(Engine, LoadLibrariesReturnsBeforeRelocation) {
  auto t = launch({target("pk_basic", "pie-O2"), "1", "3"});
  ASSERT_TRUE(t.session);
  ASSERT_TRUE(t.session->load_libraries().ok());
  auto funcs = t.session->functions("libc.so.6");
  ASSERT_TRUE(funcs.ok()) << funcs.error().message();
  std::atomic<uint64_t> early{0}, resolver{0};
  ASSERT_TRUE(t.session->add(counting("libc.so.6:__libc_early_init", &early)).ok());
  ASSERT_TRUE(t.session->add(counting("libc.so.6:memset", &resolver)).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(early.load(), 1u);
  EXPECT_GE(resolver.load(), 1u);
  EXPECT_EQ(t.output(), "threads 1 calls 3 total 9\n");
}

TEST(Engine, LoadLibrariesListsLibcBeforeMainRuns) {
  auto t = launch({target("pk_basic", "nopie-O2"), "1", "10"});
  ASSERT_TRUE(t.session);
  auto has = [&](const std::string& name) {
    for (const auto& m : t.session->modules()) {
      if (m.name == name) return true;
    }
    return false;
  };
  EXPECT_FALSE(has("libc.so.6"));
  ASSERT_TRUE(t.session->load_libraries().ok());
  EXPECT_TRUE(has("libc.so.6"));
  auto funcs = t.session->functions("libc.so.6");
  ASSERT_TRUE(funcs.ok());
  EXPECT_TRUE(std::any_of(funcs->begin(), funcs->end(), [](const FunctionInfo& f) { return f.name == "malloc"; }));
  // main has not run: a probe on work() added now sees every call.
  auto hits = add_counter(*t.session, "a.out:work");
  ASSERT_TRUE(hits.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(hits->load(), 10u);
  EXPECT_EQ(t.output(), "threads 1 calls 10 total 100\n");
}

}  // namespace
}  // namespace probekit
