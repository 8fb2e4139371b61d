// Return probes (ret-site and hijack), entry/return pairing and error
// injection, against tests/targets/pk_ret.c and pk_ret_cxx.cpp built four
// ways. Each behaviour runs under both mechanisms where both apply.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "launch_support.h"
#include "probekit/probekit.h"
#include "util/fd.h"
#include "util/strings.h"

namespace probekit {
namespace {

using namespace probekit::testing;


long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

const char* mech_name(ReturnMechanism m) {
  switch (m) {
    case ReturnMechanism::automatic: return "automatic";
    case ReturnMechanism::ret_site: return "ret_site";
    case ReturnMechanism::hijack: return "hijack";
  }
  return "?";
}

// A return probe whose entry handler saves rdi in the per-call data and
// whose return handler checks the value against expected(rdi).
struct Pairing {
  uint64_t entries = 0;
  uint64_t returns = 0;
  uint64_t wrong = 0;
  std::multiset<long> values;
  std::set<int> tids;
};

Probe pairing_probe(const std::string& where, ReturnMechanism mech, Pairing* p,
                    std::function<long(long)> expected) {
  Probe probe;
  probe.where = Location::parse(where).value();
  probe.mechanism = mech;
  probe.data_size = sizeof(long);
  probe.entry_handler = [p](HitContext& ctx, void* data) {
    p->entries++;
    long arg = static_cast<long>(ctx.regs().rdi);
    std::memcpy(data, &arg, sizeof arg);
    return true;
  };
  probe.return_handler = [p, expected](HitContext& ctx, void* data) {
    p->returns++;
    long arg = 0;
    std::memcpy(&arg, data, sizeof arg);
    long rv = static_cast<long>(ctx.regs().rax);
    p->values.insert(rv);
    p->tids.insert(ctx.tid());
    if (!ctx.is_return() || (expected && rv != expected(arg))) p->wrong++;
  };
  return probe;
}

using Param = std::tuple<std::string, ReturnMechanism>;
class Returns : public ::testing::TestWithParam<Param> {
protected:
  std::string build() const { return std::get<0>(GetParam()); }
  ReturnMechanism mech() const { return std::get<1>(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(Engine, Returns,
                         ::testing::Combine(::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"),
                                            ::testing::Values(ReturnMechanism::ret_site, ReturnMechanism::hijack)),
                         [](const ::testing::TestParamInfo<Param>& pi) {
                           std::string b = std::get<0>(pi.param);
                           for (auto& c : b) {
                             if (c == '-') c = '_';
                           }
                           return b + "_" + mech_name(std::get<1>(pi.param));
                         });

TEST_P(Returns, RecursiveFibonacciPairsEveryCall) {
  std::vector<std::string> argv = {target("pk_ret", build()), "fib", "12"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  Pairing p;
  auto id = t.session->add(pairing_probe("a.out:fib", mech(), &p, [](long n) { return fib(n); }));
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto d = t.session->describe(*id);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].rfind(mech() == ReturnMechanism::hijack ? "fib: hijack (forced)" : "fib: ret-site, ", 0), 0u) << d[0];
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), "fib 12 = 144\n");
  EXPECT_GT(p.entries, 0u);
  EXPECT_EQ(p.entries, p.returns);
  EXPECT_EQ(p.wrong, 0u);
  if (build().ends_with("O0")) {
    EXPECT_EQ(p.entries, 465u);  // calls of naive fib(12)
  }
  EXPECT_EQ(t.session->stats(*id).hits, p.returns);
  EXPECT_EQ(t.session->stats(*id).missed, 0u);
}

TEST_P(Returns, SeveralReturnPathsReportValuesAndSites) {
  std::vector<std::string> argv = {target("pk_ret", build()), "paths"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::multiset<long> values;
  std::set<int64_t> offsets;
  int bad = 0;
  Probe probe;
  probe.where = Location::parse("a.out:classify").value();
  probe.mechanism = mech();
  probe.return_handler = [&](HitContext& ctx, void*) {
    values.insert(static_cast<long>(ctx.regs().rax));
    if (ctx.site().symbol != "classify" || ctx.site().offset != 0) bad++;
    auto ra = ctx.return_address();
    if (!ra || ctx.symbolize(*ra).rfind("main+", 0) != 0) bad++;
    if (mech() == ReturnMechanism::ret_site) {
      // At the `ret` itself, before it ran: rip is the site, [rsp] the caller.
      auto site = ctx.return_site();
      auto off = ctx.return_offset();
      if (!site || !off || *site != ctx.regs().rip || *site != ctx.site().address + *off) {
        bad++;
        return;
      }
      uint8_t byte = 0;
      (void)ctx.read(*site, &byte, 1);
      if (byte != 0xc3) bad++;
      if (ctx.read_value<uint64_t>(ctx.regs().rsp).value() != *ra) bad++;
      offsets.insert(*off);
    } else {
      if (ctx.return_offset() || ctx.regs().rip != *ra) bad++;
    }
  };
  auto id = t.session->add(std::move(probe));
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), "paths 1109\n");
  EXPECT_EQ(values, (std::multiset<long>{-1, 100, 201, 302, 203, 304}));
  EXPECT_EQ(bad, 0);
  if (mech() == ReturnMechanism::ret_site) {
    // describe() lists exactly the offsets that fired (every `ret` is used).
    auto d = t.session->describe(*id);
    ASSERT_EQ(d.size(), 1u);
    std::vector<std::string> parts;
    for (int64_t o : offsets) parts.push_back("+" + hex(static_cast<uint64_t>(o)));
    EXPECT_NE(d[0].find("(" + join(parts, ", ") + ")"), std::string::npos) << d[0];
    if (build().ends_with("O2")) {
      EXPECT_GE(offsets.size(), 2u);
    }
  }
}

TEST_P(Returns, TailCallsReturnOnce) {
  std::vector<std::string> argv = {target("pk_ret", build()), "tail", "5"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  Pairing a, b, l;
  auto leafval = [](long x) { return x * 10; };
  auto ida = t.session->add(pairing_probe("a.out:tail_a", mech(), &a, nullptr));
  auto idb = t.session->add(pairing_probe("a.out:tail_b", mech(), &b, nullptr));
  auto idl = t.session->add(pairing_probe("a.out:leaf", mech(), &l, leafval));
  ASSERT_TRUE(ida.ok() && idb.ok() && idl.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), "tail 250\n");
  for (Pairing* p : {&a, &b, &l}) {
    EXPECT_EQ(p->entries, 5u);
    EXPECT_EQ(p->returns, 5u);
  }
  EXPECT_EQ(l.wrong, 0u);
  const std::multiset<long> results{30, 40, 50, 60, 70};
  EXPECT_EQ(l.values, results);
  // Whatever the mechanism, a return fires after the real return: rax is
  // the value the caller receives, for every frame of the chain.
  EXPECT_EQ(a.values, results);
  EXPECT_EQ(b.values, results);
  EXPECT_EQ(a.wrong + b.wrong, 0u);
  for (auto id : {*ida, *idb, *idl}) EXPECT_EQ(t.session->stats(id).missed, 0u);
  bool tail_calls = build().ends_with("O2");
  if (mech() == ReturnMechanism::ret_site && tail_calls) {
    auto d = t.session->describe(*ida);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_NE(d[0].find("tail call"), std::string::npos) << d[0];
  }
}

// Issue 9: `long wrapper(long x) { return impl(x + 1); }` is `jmp impl` at
// -O2. Its return reports impl's value, the caller, and (ret-site) the jmp.
TEST_P(Returns, TailCallWrapperReportsTheValueTheCallerReceives) {
  std::vector<std::string> argv = {target("pk_ret", build()), "wrap", "5"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "wrap -275\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::vector<long> values;
  int bad = 0;
  bool saw_tail = false;
  Probe probe;
  probe.where = Location::parse("a.out:wrapper").value();
  probe.mechanism = mech();
  probe.return_handler = [&](HitContext& ctx, void*) {
    values.push_back(static_cast<long>(ctx.regs().rax));
    auto ra = ctx.return_address();
    if (!ra || ctx.symbolize(*ra).rfind("main+", 0) != 0) bad++;
    if (ctx.is_tail_call()) {
      saw_tail = true;
      // After impl's ret: rip is the caller's next instruction, the frame popped.
      if (ctx.regs().rip != *ra || !ctx.return_offset() || *ctx.return_offset() <= 0) bad++;
    }
  };
  auto id = t.session->add(std::move(probe));
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(values, (std::vector<long>{-97, -76, -55, -34, -13}));
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(t.session->stats(*id).hits, 5u);
  EXPECT_EQ(t.session->stats(*id).missed, 0u);
  EXPECT_EQ(saw_tail, mech() == ReturnMechanism::ret_site && build().ends_with("O2"));
}

// The return address after the tail call cannot take a probe (a `lock`
// prefix): that call is hijacked instead, and still reports the value.
TEST_P(Returns, TailCallToAnUnprobeableReturnAddressIsHijacked) {
  std::vector<std::string> argv = {target("pk_ret", build()), "wraplock", "5"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "wraplock -275\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::vector<long> values;
  int bad = 0;
  Probe probe;
  probe.where = Location::parse("a.out:wrapper").value();
  probe.mechanism = mech();
  probe.return_handler = [&](HitContext& ctx, void*) {
    values.push_back(static_cast<long>(ctx.regs().rax));
    auto ra = ctx.return_address();
    if (!ra || ctx.symbolize(*ra).rfind("locked_caller+", 0) != 0) bad++;
  };
  auto id = t.session->add(std::move(probe));
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(values, (std::vector<long>{-97, -76, -55, -34, -13}));
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(t.session->stats(*id).missed, 0u);
}

// libc's strtol is `jmp` into ____strtol_l_internal: the return must carry
// the parsed number (issue 9 saw -144 for every call).
TEST_P(Returns, LibcStrtolReturnsTheParsedNumber) {
  std::vector<std::string> argv = {target("pk_ret", build()), "strtol"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  ASSERT_TRUE(t.session->load_libraries().ok());
  std::vector<long> values;
  Probe probe;
  probe.where = Location::parse("libc.so.6:strtol").value();
  probe.mechanism = mech();
  probe.return_handler = [&](HitContext& ctx, void*) { values.push_back(static_cast<long>(ctx.regs().rax)); };
  auto id = t.session->add(std::move(probe));
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), "strtol 1032792\n");
  EXPECT_EQ(values, (std::vector<long>{42, -17, 0x7fff, 1000000, 0}));
  EXPECT_EQ(t.session->stats(*id).missed, 0u);
}

TEST_P(Returns, OverrideAtATailCallReturnReplacesTheValue) {
  std::vector<std::string> argv = {target("pk_ret", build()), "wrap", "2"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::string err;
  Probe probe;
  probe.where = Location::parse("a.out:wrapper").value();
  probe.mechanism = mech();
  probe.destructive = true;
  probe.return_handler = [&](HitContext& ctx, void*) {
    auto st = ctx.override_return(1000);
    if (!st) err = st.error().message();
  };
  ASSERT_TRUE(t.session->add(std::move(probe)).ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(err, "");
  EXPECT_EQ(t.output(), "wrap 2000\n");
}

TEST_P(Returns, LongjmpAcrossProbedFrames) {
  std::vector<std::string> argv = {target("pk_ret", build()), "longjmp", "3"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  Pairing dive, f;
  auto idd = t.session->add(pairing_probe("a.out:dive", mech(), &dive, nullptr));
  auto idf = t.session->add(pairing_probe("a.out:fib", mech(), &f, [](long n) { return fib(n); }));
  ASSERT_TRUE(idd.ok() && idf.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), "jumps 3 fib 8\n");
  EXPECT_EQ(dive.entries, 15u);  // dive(4)..dive(0), three times
  EXPECT_EQ(dive.returns, 0u);   // every frame was left by longjmp
  EXPECT_GT(f.entries, 0u);
  EXPECT_EQ(f.entries, f.returns);
  EXPECT_EQ(f.wrong, 0u);
  // Stale frames are dropped (and counted) when a later call reuses the stack.
  EXPECT_GT(t.session->stats(*idd).missed, 0u);
}

TEST_P(Returns, CxxExceptionsThroughProbedFrames) {
  std::vector<std::string> argv = {target("pk_ret_cxx", build()), "10"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "sum 60 caught 4 last bad 9\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  Pairing th, mid, rel;
  auto id1 = t.session->add(pairing_probe("a.out:thrower", mech(), &th, [](long n) { return 2 * n; }));
  auto id2 = t.session->add(pairing_probe("a.out:middle", mech(), &mid, [](long n) { return 2 * n + 1; }));
  auto id3 = t.session->add(pairing_probe("a.out:relay", mech(), &rel, [](long n) { return 2 * n + 1; }));
  ASSERT_TRUE(id1.ok()) << id1.error().message();
  ASSERT_TRUE(id2.ok() && id3.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), expected);
  for (Pairing* p : {&th, &mid, &rel}) {
    EXPECT_EQ(p->entries, 10u);
    EXPECT_EQ(p->returns, 6u);  // n = 1 2 4 5 7 8
    EXPECT_EQ(p->wrong, 0u);
  }
  if (mech() == ReturnMechanism::hijack) {
    // Each throw (n = 0 3 6 9) put back and dropped the three frames' instances.
    for (auto id : {*id1, *id2, *id3}) EXPECT_EQ(t.session->stats(id).missed, 4u);
  }
}

// Issue 9: the frame that catches (guarded) returns normally afterwards;
// under hijack its instance is put back for the unwinder and hooked again at
// __cxa_begin_catch, so every one of its returns is reported.
TEST_P(Returns, FrameThatCatchesStillReportsItsReturn) {
  std::vector<std::string> argv = {target("pk_ret_cxx", build()), "10", "guarded"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "guarded sum 60 caught 4\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  Pairing g, rel, th;
  // guarded returns int: -1 is eax = 0xffffffff, the upper half of rax zero.
  auto idg = t.session->add(pairing_probe("a.out:guarded", mech(), &g, [](long n) { return n % 3 ? 2 * n + 1 : 0xffffffffL; }));
  auto idr = t.session->add(pairing_probe("a.out:relay", mech(), &rel, [](long n) { return 2 * n + 1; }));
  auto idt = t.session->add(pairing_probe("a.out:thrower", mech(), &th, [](long n) { return 2 * n; }));
  ASSERT_TRUE(idg.ok() && idr.ok() && idt.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(g.entries, 10u);
  EXPECT_EQ(g.returns, 10u);
  EXPECT_EQ(g.wrong, 0u);
  EXPECT_EQ(t.session->stats(*idg).hits, 10u);
  EXPECT_EQ(t.session->stats(*idg).missed, 0u);
  for (Pairing* p : {&rel, &th}) {
    EXPECT_EQ(p->entries, 10u);
    EXPECT_EQ(p->returns, 6u);
    EXPECT_EQ(p->wrong, 0u);
  }
  if (mech() == ReturnMechanism::hijack) {
    // The four throws unwound relay and thrower: those calls never returned.
    EXPECT_EQ(t.session->stats(*idr).missed, 4u);
    EXPECT_EQ(t.session->stats(*idt).missed, 4u);
  }
}

TEST_P(Returns, MaxActiveCountsMisses) {
  auto t = launch({target("pk_ret", build()), "fib", "12"});
  ASSERT_TRUE(t.session);
  Pairing p;
  Probe probe = pairing_probe("a.out:fib", mech(), &p, [](long n) { return fib(n); });
  probe.maxactive = 3;
  auto id = t.session->add(std::move(probe));
  ASSERT_TRUE(id.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), "fib 12 = 144\n");
  EXPECT_GT(p.entries, 0u);
  EXPECT_EQ(p.entries, p.returns);  // every call that got an instance returned, with the right value
  EXPECT_EQ(p.wrong, 0u);
  EXPECT_GT(t.session->stats(*id).missed, 0u);
  if (build().ends_with("O0")) {
    EXPECT_EQ(p.entries + t.session->stats(*id).missed, 465u);
  }
}

TEST_P(Returns, FourThreads) {
  std::vector<std::string> argv = {target("pk_ret", build()), "threads", "3"};
  std::string expected = run_plain(argv);
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  Pairing p;
  auto id = t.session->add(pairing_probe("a.out:fib", mech(), &p, [](long n) { return fib(n); }));
  ASSERT_TRUE(id.ok());
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_GT(p.entries, 0u);
  EXPECT_EQ(p.entries, p.returns);
  EXPECT_EQ(p.wrong, 0u);
  EXPECT_EQ(p.tids.size(), 4u);
}

TEST_P(Returns, ForkInsideProbedFunction) {
  for (bool follow : {true, false}) {
    SCOPED_TRACE(follow ? "followed" : "not followed");
    std::vector<std::string> argv = {target("pk_ret", build()), "fork"};
    LaunchOptions opts;
    opts.follow_forks = follow;
    auto t = launch(argv, opts);
    ASSERT_TRUE(t.session);
    std::multiset<long> values;
    std::set<int> pids;
    Probe probe;
    probe.where = Location::parse("a.out:forker").value();
    probe.mechanism = mech();
    probe.return_handler = [&](HitContext& ctx, void*) {
      values.insert(static_cast<long>(ctx.regs().rax));
      pids.insert(ctx.pid());
    };
    auto id = t.session->add(std::move(probe));
    ASSERT_TRUE(id.ok());
    auto rc = t.session->run();
    ASSERT_TRUE(rc.ok());
    EXPECT_EQ(*rc, 0);
    EXPECT_EQ(t.output(), "child 1003 fib 21\nparent 3 fib 21 status 0\n");
    if (follow) {
      EXPECT_EQ(values, (std::multiset<long>{3, 1003}));
      EXPECT_EQ(pids.size(), 2u);
    } else {
      EXPECT_EQ(values, (std::multiset<long>{3}));
    }
  }
}

TEST_P(Returns, OverrideAtReturnReplacesTheValue) {
  std::vector<std::string> argv = {target("pk_ret", build()), "override"};
  for (bool destructive : {false, true}) {
    auto t = launch(argv);
    ASSERT_TRUE(t.session);
    std::string err;
    Probe probe;
    probe.where = Location::parse("a.out:open_config").value();
    probe.mechanism = mech();
    probe.destructive = destructive;
    probe.return_handler = [&](HitContext& ctx, void*) {
      auto st = ctx.override_return(static_cast<uint64_t>(-13));
      if (!st) err = st.error().message();
    };
    ASSERT_TRUE(t.session->add(std::move(probe)).ok());
    auto rc = t.session->run();
    ASSERT_TRUE(rc.ok());
    if (destructive) {
      EXPECT_EQ(*rc, 3);
      EXPECT_EQ(t.output(), "error path: open_config returned -13\n");
      EXPECT_EQ(err, "");
    } else {
      EXPECT_EQ(*rc, 0);
      EXPECT_EQ(t.output(), "config ok\n");
      EXPECT_NE(err.find("destructive"), std::string::npos) << err;
    }
  }
}

TEST_P(Returns, DetachWithOutstandingReturnsOnSeveralThreads) {
  std::vector<std::string> argv = {target("pk_ret", build()), "slow", "300"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "slow total 362400\n");
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  uint64_t returns = 0;
  int wrong = 0;
  Probe probe;
  probe.where = Location::parse("a.out:slow").value();
  probe.mechanism = mech();
  probe.data_size = sizeof(long);
  probe.entry_handler = [](HitContext& ctx, void* data) {
    long x = static_cast<long>(ctx.regs().rdi);
    std::memcpy(data, &x, sizeof x);
    return true;
  };
  probe.return_handler = [&](HitContext& ctx, void* data) {
    long x = 0;
    std::memcpy(&x, data, sizeof x);
    if (static_cast<long>(ctx.regs().rax) != 2 * x) wrong++;
    returns++;
  };
  auto id = t.session->add(std::move(probe));
  ASSERT_TRUE(id.ok());
  pid_t pid = t.session->pid();
  // Run until some calls have returned (and others are in flight): on a
  // loaded machine the first return can take longer than one slice.
  for (int i = 0; i < 100 && returns == 0; ++i) {
    auto rc = t.session->run(0.1);
    ASSERT_TRUE(rc.ok());
    ASSERT_EQ(*rc, -1);
  }
  EXPECT_GT(returns, 0u);
  EXPECT_EQ(wrong, 0);
  auto det = t.session->detach();
  ASSERT_TRUE(det.ok()) << det.error().message();
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_EQ(t.output(), expected);
}

class ReturnBuilds : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Engine, ReturnBuilds, ::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"));

TEST_P(ReturnBuilds, JumpTableFallsBackToHijack) {
  std::vector<std::string> argv = {target("pk_ret", GetParam()), "switch"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  Probe forced;
  forced.where = Location::parse("a.out:sw").value();
  forced.mechanism = ReturnMechanism::ret_site;
  forced.return_handler = [](HitContext&, void*) {};
  auto bad = t.session->add(std::move(forced));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::unsupported);
  EXPECT_NE(bad.error().message().find("cannot probe the returns of 'sw' at their ret sites: indirect jmp at +0x"),
            std::string::npos)
      << bad.error().message();
  Pairing p;
  auto id = t.session->add(pairing_probe("a.out:sw", ReturnMechanism::automatic, &p, nullptr));
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto d = t.session->describe(*id);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].rfind("sw: hijack (indirect jmp at +0x", 0), 0u) << d[0];
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), "switch 123\n");
  EXPECT_EQ(p.entries, 9u);
  EXPECT_EQ(p.returns, 9u);
  // bias = 1: 12, 7, 0x54, -3, 8, 9, -2, 8, 0
  EXPECT_EQ(p.values, (std::multiset<long>{12, 7, 0x54, -3, 8, 9, -2, 8, 0}));
}

TEST_P(ReturnBuilds, ReturnsFromTheColdPartCount) {
  auto t = launch({target("pk_ret", GetParam()), "cold"});
  ASSERT_TRUE(t.session);
  std::multiset<long> values;
  std::set<int64_t> negative_offsets;
  Probe probe;
  probe.where = Location::parse("a.out:coldret").value();
  probe.mechanism = ReturnMechanism::ret_site;
  probe.return_handler = [&](HitContext& ctx, void*) {
    values.insert(static_cast<long>(ctx.regs().rax));
    auto off = ctx.return_offset();
    if (off && *off < 0) negative_offsets.insert(*off);
  };
  auto id = t.session->add(std::move(probe));
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto d = t.session->describe(*id);
  ASSERT_EQ(d.size(), 1u);
  auto fns = t.session->functions("a.out");
  ASSERT_TRUE(fns.ok());
  bool split = std::any_of(fns->begin(), fns->end(), [](const FunctionInfo& f) { return f.raw_name == "coldret.cold"; });
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(t.output(), "negative -2\nnegative -1\ncold -4\n");
  // The jump into coldret.cold is not a return; the ret inside it is.
  EXPECT_EQ(values, (std::multiset<long>{-7, -7, 4, 6}));
  if (split) {
    EXPECT_EQ(negative_offsets.size(), 1u);  // .text.unlikely is placed before .text
    EXPECT_EQ(d[0].rfind("coldret: ret-site, 2 returns (-0x", 0), 0u) << d[0];
  }
}

TEST_P(ReturnBuilds, OverrideAtEntrySkipsTheFunction) {
  std::vector<std::string> argv = {target("pk_ret", GetParam()), "override"};
  for (bool destructive : {false, true}) {
    auto t = launch(argv);
    ASSERT_TRUE(t.session);
    std::string err;
    Probe probe;
    probe.where = Location::parse("a.out:open_config").value();
    probe.destructive = destructive;
    probe.pre_handler = [&](HitContext& ctx) {
      auto st = ctx.override_return(static_cast<uint64_t>(-5));
      if (!st) err = st.error().message();
    };
    ASSERT_TRUE(t.session->add(std::move(probe)).ok());
    auto rc = t.session->run();
    ASSERT_TRUE(rc.ok());
    if (destructive) {
      EXPECT_EQ(*rc, 3);
      EXPECT_EQ(t.output(), "error path: open_config returned -5\n");
      EXPECT_EQ(err, "");
    } else {
      EXPECT_EQ(*rc, 0);
      EXPECT_EQ(t.output(), "config ok\n");
      EXPECT_EQ(err, "override_return changes the program: register the probe with destructive = true (-w)");
    }
  }
}

TEST_P(ReturnBuilds, OverrideRefusedInsideTheFunction) {
  std::vector<std::string> argv = {target("pk_ret", GetParam()), "override"};
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  // The second instruction of open_config, wherever it is.
  auto fns = t.session->functions("a.out");
  ASSERT_TRUE(fns.ok());
  std::string err;
  Probe first;
  first.where = Location::parse("a.out:open_config").value();
  auto id0 = t.session->add(std::move(first));
  ASSERT_TRUE(id0.ok());
  auto d = t.session->describe(*id0);
  ASSERT_EQ(d.size(), 1u);
  // "site open_config: PLAN (INSN)" for the entry.
  EXPECT_EQ(d[0].rfind("site open_config: ", 0), 0u) << d[0];
  uint64_t second = 0;
  for (uint64_t off = 1; off < 16 && !second; ++off) {
    Probe p;
    p.where = Location::parse("a.out:open_config+" + std::to_string(off)).value();
    p.destructive = true;
    p.pre_handler = [&](HitContext& ctx) {
      auto st = ctx.override_return(1);
      if (!st) err = st.error().message();
    };
    if (t.session->add(std::move(p)).ok()) second = off;
  }
  ASSERT_NE(second, 0u);
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.output(), "config ok\n");
  EXPECT_EQ(err, "override is only possible at a function's entry or return; 'open_config+" + hex(second) +
                     "' is neither");
}

TEST(ReturnProbe, EntryOffsetRefused) {
  auto t = launch({target("pk_ret", "pie-O0"), "fib", "3"});
  ASSERT_TRUE(t.session);
  Probe p;
  p.where = Location::parse("a.out:fib+1").value();
  p.return_handler = [](HitContext&, void*) {};
  auto id = t.session->add(std::move(p));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().message(), "a return probe goes on a function's entry: 'fib+0x1' is not one; name the function without an offset");
  Probe q;
  q.where = Location::parse("a.out:fib").value();
  q.entry_handler = [](HitContext&, void*) { return true; };
  auto id2 = t.session->add(std::move(q));
  ASSERT_FALSE(id2.ok());
  EXPECT_EQ(id2.error().kind(), ErrorKind::usage);
}

TEST(ReturnProbe, EntryHandlerFalseSkipsTheReturn) {
  for (auto mech : {ReturnMechanism::ret_site, ReturnMechanism::hijack}) {
    SCOPED_TRACE(mech_name(mech));
    auto t = launch({target("pk_ret", "pie-O2"), "paths"});
    ASSERT_TRUE(t.session);
    Probe p;
    p.where = Location::parse("a.out:classify").value();
    p.mechanism = mech;
    p.entry_handler = [](HitContext& ctx, void*) { return static_cast<long>(ctx.regs().rdi) % 2 == 0; };
    std::multiset<long> values;
    p.return_handler = [&values](HitContext& ctx, void*) { values.insert(static_cast<long>(ctx.regs().rax)); };
    auto id = t.session->add(std::move(p));
    ASSERT_TRUE(id.ok());
    auto rc = t.session->run();
    ASSERT_TRUE(rc.ok());
    EXPECT_EQ(t.output(), "paths 1109\n");
    EXPECT_EQ(values, (std::multiset<long>{100, 302, 304}));  // x = 0, 2, 4
    EXPECT_EQ(t.session->stats(*id).hits, 3u);
  }
}

// A return probe whose handler reads only what it captured (registers
// here) is a jump probe under the jump backend: the agent hijacks the
// return address at the entry's jmp, and the handler runs on the record
// written at the return, with rax the value, rip the real return address,
// and the function as site(), as for a trap return probe.
TEST(JumpReturns, RecordedReturnProbeRunsOnTheAgentsRecords) {
  for (const char* b : {"pie-O2", "nopie-O0"}) {
    SCOPED_TRACE(b);
    LaunchOptions opts;
    opts.backend = BackendChoice::jump;
    auto t = launch({target("pk_ret", b), "paths"}, opts);
    ASSERT_TRUE(t.session);
    std::multiset<long> values;
    int bad = 0;
    Probe probe;
    probe.where = Location::parse("a.out:classify").value();
    probe.capture = Probe::Capture{};
    probe.return_handler = [&](HitContext& ctx, void*) {
      values.insert(static_cast<long>(ctx.regs().rax));
      if (!ctx.is_return() || ctx.site().symbol != "classify" || ctx.return_site()) bad++;
      auto ra = ctx.return_address();
      if (!ra || *ra != ctx.regs().rip || ctx.symbolize(*ra).rfind("main+", 0) != 0) bad++;
    };
    auto id = t.session->add(probe);
    ASSERT_TRUE(id.ok()) << id.error().message();
    auto d = t.session->describe(*id);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].rfind("classify: jump, recorded in the agent at the return", 0), 0u) << d[0];
    EXPECT_EQ(t.session->stats(*id).sites, 1u);
    auto rc = t.session->run();
    ASSERT_TRUE(rc.ok()) << rc.error().message();
    EXPECT_EQ(*rc, 0);
    EXPECT_EQ(t.output(), "paths 1109\n");
    EXPECT_EQ(values, (std::multiset<long>{-1, 100, 201, 203, 302, 304}));
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(t.session->stats(*id).hits, 6u);
    EXPECT_EQ(t.session->stats(*id).missed, 0u);
  }
}

}  // namespace
}  // namespace probekit
