// Jump probes (engine/jump_backend.h): counting probes patched with a jmp
// into the in-process agent. Counts must be exact, output unchanged, and
// every byte back after detach; ineligible sites stay trap probes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <optional>

#include "launch_support.h"
#include "proc/maps.h"
#include "proc/memory.h"
#include "util/fd.h"

namespace probekit {
namespace {

using namespace probekit::testing;

Probe count_only(const std::string& where) {
  Probe p;
  p.where = Location::parse(where).value();
  p.count_only = true;
  return p;
}

LaunchOptions backend(BackendChoice b) {
  LaunchOptions o;
  o.backend = b;
  return o;
}

bool has_agent_mapping(pid_t pid) {
  return read_file("/proc/" + std::to_string(pid) + "/maps").value_or("").find("memfd:probekit-agent") !=
         std::string::npos;
}

// Waits until the target's output grows (it is alive and printing).
bool keeps_printing(const std::string& out) {
  auto size = read_file(out).value_or("").size();
  for (int i = 0; i < 5000 && read_file(out).value_or("").size() == size; ++i) ::usleep(1000);
  return read_file(out).value_or("").size() > size;
}

// pk_spin's output is "line 0", "line 1", ... in order: what it prints
// untraced, whatever was attached and detached meanwhile.
bool printed_in_order(const std::string& out) {
  std::string text = read_file(out).value_or("");
  text = text.substr(0, text.rfind('\n') + 1);  // whole lines only
  std::string want;
  for (int i = 0; want.size() < text.size(); ++i) want += "line " + std::to_string(i) + "\n";
  return !text.empty() && text == want;
}

bool described_as_jump(Session& s, ProbeId id) {
  auto d = s.describe(id);
  return d.size() == 1 && d[0].find(": jump") != std::string::npos;
}

class JumpBuilds : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Jump, JumpBuilds, ::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"));

TEST_P(JumpBuilds, ThreadedCountIsExactWithoutStops) {
  std::vector<std::string> argv = {target("pk_basic", GetParam()), "4", "50000"};
  std::string expected = run_plain(argv);
  auto t = launch(argv, backend(BackendChoice::jump));
  ASSERT_TRUE(t.session);
  auto id = t.session->add(count_only("a.out:work"));
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_TRUE(described_as_jump(*t.session, *id)) << t.session->describe(*id).front();
  EXPECT_EQ(t.session->stats(*id).sites, 1u);
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(*rc, 0);
  EXPECT_EQ(t.session->stats(*id).hits, 200000u);
  EXPECT_EQ(t.output(), expected);
}

// Every kind of first instruction: eligible ones become jump probes (the
// copy of a rip-relative load, store, cmp, SSE load still reads the same
// address), the others stay trap probes and say why; counts are exact and
// the program's output is unchanged either way.
TEST_P(JumpBuilds, EveryInstructionKindCountsExactly) {
  std::vector<std::string> argv = {target("pk_insns", GetParam()), "300"};
  std::string expected = run_plain(argv);
  auto t = launch(argv);  // automatic
  ASSERT_TRUE(t.session);
  const std::map<std::string, bool> jump = {
      {"f_riprel", true}, {"f_lea", true},  {"f_cmp", true},  {"f_sse", true},  {"f_store", true},
      {"f_push", true},   {"f_call", false}, {"f_jmp", false}, {"f_jcc", false}, {"f_ret", false}};
  std::map<std::string, ProbeId> ids;
  for (const auto& [fn, want_jump] : jump) {
    auto id = t.session->add(count_only("a.out:" + fn));
    ASSERT_TRUE(id.ok()) << fn << ": " << id.error().message();
    ids[fn] = *id;
    auto d = t.session->describe(*id);
    ASSERT_EQ(d.size(), 1u) << fn;
    // f_jcc's first instruction is 2 bytes and a branch: a jmp rel32 there
    // would leave before its 5 bytes end, but a jmp rel8 to a hop in
    // padding within reach fits (where the build left such padding).
    const bool hop = fn == "f_jcc" && d[0].find("via a hop at ") != std::string::npos;
    EXPECT_EQ(described_as_jump(*t.session, *id), want_jump || hop) << d[0];
    if (!want_jump && !hop) {
      EXPECT_NE(d[0].find("not a jump probe: "), std::string::npos) << d[0];
    }
  }
  auto rc = t.session->run();
  ASSERT_TRUE(rc.ok()) << rc.error().message();
  EXPECT_EQ(t.output(), expected);
  for (const auto& [fn, id] : ids) EXPECT_EQ(t.session->stats(id).hits, 300u) << fn;
}

TEST(Jump, ForcedJumpRefusesAnIneligibleSiteWithTheReason) {
  auto t = launch({target("pk_insns", "pie-O2"), "1"}, backend(BackendChoice::jump));
  ASSERT_TRUE(t.session);
  auto id = t.session->add(count_only("a.out:f_call"));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().kind(), ErrorKind::cannot_relocate);
  EXPECT_NE(id.error().message().find("is a call"), std::string::npos) << id.error().message();
}

TEST(Jump, TrapBackendNeverPatchesAJump) {
  auto t = launch({target("pk_basic", "pie-O2"), "1", "10"}, backend(BackendChoice::trap));
  ASSERT_TRUE(t.session);
  auto id = t.session->add(count_only("a.out:work"));
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(described_as_jump(*t.session, *id));
  ASSERT_TRUE(t.session->run().ok());
  EXPECT_EQ(t.session->stats(*id).hits, 10u);
}

TEST(Jump, LibcCountsEqualTheTrapBackends) {
  std::vector<std::string> argv = {target("pk_malloc", "pie-O2"), "4", "2000"};
  std::string expected = run_plain(argv);
  std::map<BackendChoice, std::pair<uint64_t, uint64_t>> counts;
  for (BackendChoice b : {BackendChoice::trap, BackendChoice::jump}) {
    auto t = launch(argv, backend(b));
    ASSERT_TRUE(t.session);
    auto m = t.session->add(count_only("libc.so.6:malloc"));
    auto f = t.session->add(count_only("libc.so.6:free"));
    ASSERT_TRUE(m.ok() && f.ok());
    ASSERT_TRUE(t.session->run().ok());
    EXPECT_EQ(t.output(), expected);
    counts[b] = {t.session->stats(*m).hits, t.session->stats(*f).hits};
  }
  EXPECT_GE(counts[BackendChoice::jump].first, 8000u);
  EXPECT_EQ(counts[BackendChoice::jump], counts[BackendChoice::trap]);
}

// A handler probe arriving where a jump probe is turns the site back into
// a trap site; the counting probe keeps its count across the change.
TEST(Jump, AHandlerProbeDemotesTheJumpSiteAndCountsCarryOver) {
  auto t = launch({target("pk_basic", "pie-O2"), "2", "500"});
  ASSERT_TRUE(t.session);
  auto c = t.session->add(count_only("a.out:work"));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(described_as_jump(*t.session, *c));
  uint64_t seen = 0;
  Probe h;
  h.where = Location::parse("a.out:work").value();
  h.pre_handler = [&](HitContext&) { ++seen; };
  auto hid = t.session->add(std::move(h));
  ASSERT_TRUE(hid.ok()) << hid.error().message();
  EXPECT_FALSE(described_as_jump(*t.session, *c));
  ASSERT_TRUE(t.session->run().ok());
  EXPECT_EQ(seen, 1000u);
  EXPECT_EQ(t.session->stats(*c).hits, 1000u);
}

TEST(Jump, DisabledProbeCountsNothingAndReEnabledCountsAgain) {
  auto t = launch({target("pk_basic", "pie-O2"), "1", "100"}, backend(BackendChoice::jump));
  ASSERT_TRUE(t.session);
  auto c = t.session->add(count_only("a.out:work"));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(t.session->disable(*c).ok());
  EXPECT_EQ(t.session->stats(*c).sites, 0u);
  ASSERT_TRUE(t.session->enable(*c).ok());
  EXPECT_EQ(t.session->stats(*c).sites, 1u);
  ASSERT_TRUE(t.session->run().ok());
  EXPECT_EQ(t.session->stats(*c).hits, 100u);
}

TEST(Jump, FollowedForkChildCountsOnceInTheSharedCounter) {
  std::vector<std::string> argv = {target("pk_fork", "pie-O2"), "fork"};
  std::string expected = run_plain(argv);
  auto t = launch(argv, backend(BackendChoice::jump));
  ASSERT_TRUE(t.session);
  auto c = t.session->add(count_only("a.out:work"));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(t.session->run().ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(t.session->stats(*c).hits, 10u);  // 5 in the parent, 5 in the child
}

TEST(Jump, UnfollowedForkChildIsCleanedAndNotCounted) {
  std::vector<std::string> argv = {target("pk_fork", "pie-O2"), "fork"};
  std::string expected = run_plain(argv);
  LaunchOptions o = backend(BackendChoice::jump);
  o.follow_forks = false;
  auto t = launch(argv, o);
  ASSERT_TRUE(t.session);
  auto c = t.session->add(count_only("a.out:work"));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(t.session->run().ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(t.session->stats(*c).hits, 5u);
}

// exec: the new image gets an agent of its own and the probe is re-armed
// there as a jump probe; the parent's and the child's counts add up.
TEST(Jump, VforkExecChildIsReArmedInTheNewImage) {
  std::vector<std::string> argv = {target("pk_fork", "pie-O2"), "vfork"};
  std::string expected = run_plain(argv);
  ASSERT_EQ(expected, "child 10\nparent 9 child-status 0\n");
  auto t = launch(argv, backend(BackendChoice::jump));
  ASSERT_TRUE(t.session);
  auto c = t.session->add(count_only("a.out:work"));
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(t.session->run().ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(t.session->stats(*c).hits, 9u);  // 5 in the parent, 4 in the exec'ed child
}

// dlopen: a pending counting probe arms as a jump probe when the library
// is mapped.
TEST(Jump, LateDlopenArmsAJumpProbe) {
  std::string lib = std::string(PK_TARGETS_DIR) + "/libpk_dltest.so";
  std::vector<std::string> argv = {target("pk_dlopen", "pie-O2"), lib, "7"};
  std::string expected = run_plain(argv);
  auto t = launch(argv, backend(BackendChoice::jump));
  ASSERT_TRUE(t.session);
  Probe p = count_only("libpk_dltest.so:dl_func");
  p.allow_pending = true;
  auto c = t.session->add(p);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(t.session->stats(*c).sites, 0u);
  ASSERT_TRUE(t.session->run().ok());
  EXPECT_EQ(t.output(), expected);
  EXPECT_EQ(t.session->stats(*c).hits, 7u);
}

// A counting probe added while the program's threads run (here from a
// handler; a dlopen in a threaded program is the same): no jmp can be
// patched without stopping them all, so it is a trap probe, and says why.
TEST(Jump, ACountingProbeAddedWhileThreadsRunIsATrapProbe) {
  std::vector<std::string> argv = {target("pk_malloc", "pie-O2"), "4", "2000"};
  std::string expected = run_plain(argv);
  auto t = launch(argv);
  ASSERT_TRUE(t.session);
  std::optional<ProbeId> late;
  std::string why;
  Probe first;
  first.where = Location::parse("libc.so.6:malloc").value();
  Session* s = t.session.get();
  first.pre_handler = [&](HitContext& ctx) {
    if (late || ctx.tid() == s->pid()) return;  // a worker thread is running: the others may be too
    auto id = s->add(count_only("libc.so.6:free"));
    ASSERT_TRUE(id.ok()) << id.error().message();
    late = *id;
    auto d = s->describe(*id);
    if (!d.empty()) why = d[0];
  };
  ASSERT_TRUE(t.session->add(std::move(first)).ok());
  ASSERT_TRUE(t.session->run().ok());
  EXPECT_EQ(t.output(), expected);
  ASSERT_TRUE(late.has_value());
  EXPECT_GT(t.session->stats(*late).hits, 0u);
  EXPECT_NE(why.find("not a jump probe: armed while other threads"), std::string::npos) << why;
}

TEST_P(JumpBuilds, AttachCountDetachRestoresEveryByte) {
  std::string out = temp_path("jspin");
  std::string path = target("pk_spin", GetParam());
  pid_t child = start_printing({path, "2"}, out, 7);
  auto before = text_bytes(child, "pk_spin");
  auto libc_before = text_bytes(child, "libc.so.6");
  auto maps_before = mappings(child);
  ASSERT_FALSE(before.empty());
  {
    auto s = Session::attach(child, backend(BackendChoice::jump));
    ASSERT_TRUE(s.ok()) << s.error().message();
    auto w = (*s)->add(count_only("work"));
    ASSERT_TRUE(w.ok()) << w.error().message();
    EXPECT_NE(text_bytes(child, "pk_spin"), before);  // the jmp is there
    EXPECT_NE(read_file("/proc/" + std::to_string(child) + "/maps").value_or("").find("memfd:probekit-agent"),
              std::string::npos);
    auto rc = (*s)->run(0.3);
    ASSERT_TRUE(rc.ok()) << rc.error().message();
    EXPECT_GT((*s)->stats(*w).hits, 10u);
    ASSERT_TRUE((*s)->detach().ok());
    EXPECT_EQ((*s)->detach_notes(), std::vector<std::string>{});
  }
  EXPECT_EQ(text_bytes(child, "pk_spin"), before);
  EXPECT_EQ(text_bytes(child, "libc.so.6"), libc_before);
  EXPECT_FALSE(has_agent_mapping(child));  // the agent's areas are gone
  EXPECT_EQ(mappings(child), maps_before);  // and nothing else of ours is left
  EXPECT_TRUE(keeps_printing(out));
  EXPECT_TRUE(printed_in_order(out));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

// Hops: the 2-byte jmp and the jmp rel32 in the padding both go, and
// threads running through them all the while are never lost.
TEST_P(JumpBuilds, HopSitesAttachCountDetachRestoresEveryByte) {
  std::string out = temp_path("jhop");
  std::string path = target("pk_hop", GetParam());
  pid_t child = start_printing({path, "spin"}, out, 7);
  auto before = text_bytes(child, "pk_hop");
  ASSERT_FALSE(before.empty());
  {
    auto s = Session::attach(child, backend(BackendChoice::jump));  // jump only: a hop or an error
    ASSERT_TRUE(s.ok()) << s.error().message();
    std::vector<ProbeId> ids;
    for (const char* fn : {"hop_target", "hop_short"}) {
      auto id = (*s)->add(count_only(fn));
      ASSERT_TRUE(id.ok()) << fn << ": " << id.error().message();
      auto d = (*s)->describe(*id);
      ASSERT_EQ(d.size(), 1u);
      EXPECT_NE(d[0].find("via a hop at "), std::string::npos) << d[0];
      ids.push_back(*id);
    }
    EXPECT_NE(text_bytes(child, "pk_hop"), before);
    auto rc = (*s)->run(0.3);
    ASSERT_TRUE(rc.ok()) << rc.error().message();
    for (ProbeId id : ids) EXPECT_GT((*s)->stats(id).hits, 1000u);
    ASSERT_TRUE((*s)->detach().ok());
  }
  EXPECT_EQ(text_bytes(child, "pk_hop"), before);
  EXPECT_FALSE(has_agent_mapping(child));
  EXPECT_TRUE(keeps_printing(out));
  EXPECT_TRUE(printed_in_order(out));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

// Trap probes (the agent is injected for its orphan guard; XOL slots are
// mapped for the copies): detach takes every area out too.
TEST(Jump, TrapProbesDetachLeavesNoMapping) {
  std::string out = temp_path("tspin");
  pid_t child = start_printing({target("pk_spin", "pie-O2"), "2"}, out, 7);
  auto before = text_bytes(child, "pk_spin");
  auto libc_before = text_bytes(child, "libc.so.6");
  auto maps_before = mappings(child);
  {
    auto s = Session::attach(child, backend(BackendChoice::trap));
    ASSERT_TRUE(s.ok()) << s.error().message();
    uint64_t works = 0, sleeps = 0;
    Probe w;
    w.where = Location::parse("work").value();
    w.pre_handler = [&](HitContext&) { ++works; };
    Probe n;
    n.where = Location::parse("libc.so.6:nanosleep").value();
    n.pre_handler = [&](HitContext&) { ++sleeps; };
    ASSERT_TRUE((*s)->add(std::move(w)).ok());
    ASSERT_TRUE((*s)->add(std::move(n)).ok());
    EXPECT_TRUE(has_agent_mapping(child));
    EXPECT_NE(mappings(child), maps_before);
    ASSERT_TRUE((*s)->run(0.3).ok());
    EXPECT_GT(works, 10u);
    EXPECT_GT(sleeps, 10u);
    ASSERT_TRUE((*s)->detach().ok());
    EXPECT_EQ((*s)->detach_notes(), std::vector<std::string>{});
  }
  EXPECT_EQ(text_bytes(child, "pk_spin"), before);
  EXPECT_EQ(text_bytes(child, "libc.so.6"), libc_before);
  EXPECT_FALSE(has_agent_mapping(child));
  EXPECT_EQ(mappings(child), maps_before);
  EXPECT_TRUE(keeps_printing(out));
  EXPECT_TRUE(printed_in_order(out));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

// Threads calling a jump-probed function without pause: detach often finds
// one inside the trampoline. It is moved out (back to the original
// instruction, or stepped) before the areas go, and they all go: the
// words the trampolines left on the stacks are stale. The target lives
// on, unchanged, and can be attached again.
TEST(Jump, DetachWithThreadsInsideTrampolinesUnmapsEveryAreaAndSurvives) {
  std::string out = temp_path("hspin");
  pid_t child = start_printing({target("pk_spin", "pie-O2"), "3", "hot"}, out, 7);
  auto before = text_bytes(child, "pk_spin");
  auto maps_before = mappings(child);
  for (int round = 0; round < 8; ++round) {
    std::vector<std::string> notes;
    {
      auto s = Session::attach(child, backend(BackendChoice::jump));
      ASSERT_TRUE(s.ok()) << s.error().message();
      auto w = (*s)->add(count_only("work"));
      ASSERT_TRUE(w.ok()) << w.error().message();
      ASSERT_TRUE(described_as_jump(**s, *w));
      ASSERT_TRUE((*s)->run(0.05).ok());
      ASSERT_TRUE((*s)->detach().ok());
      EXPECT_GT((*s)->stats(*w).hits, 1000u);
      notes = (*s)->detach_notes();
    }
    EXPECT_EQ(text_bytes(child, "pk_spin"), before) << "round " << round;
    EXPECT_EQ(notes, std::vector<std::string>{}) << "round " << round;
    EXPECT_FALSE(has_agent_mapping(child)) << "round " << round;
    EXPECT_EQ(mappings(child), maps_before) << "round " << round;
    ASSERT_TRUE(keeps_printing(out)) << "round " << round;
  }
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, WNOHANG), 0);  // never crashed
  EXPECT_TRUE(printed_in_order(out));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

// Words written by the test into the environment strings at the top of
// the main stack, which the program never reads: `stale` alone (what a
// trampoline's pushes or the agent's return addresses leave below a frame
// the program later extends over without writing), or also a signal
// frame resuming at it (the return word pointing at libc's rt_sigreturn
// code, the saved rip 176 bytes above it: a signal taken in a trampoline
// whose handler still runs). Returns detach's notes.
std::vector<std::string> detach_with_words_on_the_stack(pid_t child, bool signal_frame) {
  auto s = Session::attach(child, backend(BackendChoice::jump));
  EXPECT_TRUE(s.ok()) << s.error().message();
  if (!s.ok()) return {};
  auto w = (*s)->add(count_only("work"));
  EXPECT_TRUE(w.ok()) << w.error().message();
  EXPECT_TRUE((*s)->run(0.1).ok());
  auto maps = proc::read_maps(child);
  auto mem = proc::ProcessMemory::open(child);
  EXPECT_TRUE(maps.ok() && mem.ok());
  if (!maps.ok() || !mem.ok()) return {};
  uint64_t area = 0, pad = 0, restorer = 0;
  const std::string sigreturn("\x48\xc7\xc0\x0f\x00\x00\x00\x0f\x05", 9);
  for (const auto& m : *maps) {
    if (!area && m.path.find("memfd:probekit-agent") != std::string::npos && m.executable()) area = m.start;
    if (!restorer && m.executable() && m.path.find("libc.so.6") != std::string::npos) {
      std::string code(m.end - m.start, '\0');
      if (mem->read_exact(m.start, code.data(), code.size()).ok()) {
        auto at = code.find(sigreturn);
        if (at != std::string::npos) restorer = m.start + at;
      }
    }
    if (m.path != "[stack]") continue;
    std::string bytes(m.end - m.start, '\0');
    EXPECT_TRUE(mem->read_exact(m.start, bytes.data(), bytes.size()).ok());
    auto at = bytes.find("PK_TEST_PAD=");
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) pad = (m.start + at + 12 + 7) & ~uint64_t{7};
  }
  EXPECT_NE(area, 0u);
  EXPECT_NE(pad, 0u);
  EXPECT_NE(restorer, 0u);
  uint64_t word = area + 16;
  EXPECT_TRUE(mem->write(pad + 176, &word, sizeof word).ok());
  if (signal_frame) {
    EXPECT_TRUE(mem->write(pad, &restorer, sizeof restorer).ok());
  }
  EXPECT_TRUE((*s)->detach().ok());
  return (*s)->detach_notes();
}

pid_t start_with_pad(const std::string& out) {
  ::setenv("PK_TEST_PAD", std::string(256, '.').c_str(), 1);
  pid_t child = start_printing({target("pk_spin", "pie-O2"), "1"}, out, 7);
  ::unsetenv("PK_TEST_PAD");
  return child;
}

// A stale word pointing into an area keeps nothing: the areas go.
TEST(Jump, AStaleStackWordPointingIntoAnAreaKeepsNoArea) {
  std::string out = temp_path("sspin");
  pid_t child = start_with_pad(out);
  auto before = text_bytes(child, "pk_spin");
  auto maps_before = mappings(child);
  EXPECT_EQ(detach_with_words_on_the_stack(child, false), std::vector<std::string>{});
  EXPECT_EQ(text_bytes(child, "pk_spin"), before);
  EXPECT_FALSE(has_agent_mapping(child));
  EXPECT_EQ(mappings(child), maps_before);
  EXPECT_TRUE(keeps_printing(out));
  EXPECT_TRUE(printed_in_order(out));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

// A signal frame resuming inside an area keeps every area, detach says
// why, and the target runs on.
TEST(Jump, ASignalFrameResumingInAnAreaKeepsEveryArea) {
  std::string out = temp_path("kspin");
  pid_t child = start_with_pad(out);
  auto before = text_bytes(child, "pk_spin");
  auto notes = detach_with_words_on_the_stack(child, true);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("probekit's areas stay mapped: a signal frame on thread " + std::to_string(child) +
                          "'s stack resumes in one"),
            std::string::npos)
      << notes[0];
  EXPECT_EQ(text_bytes(child, "pk_spin"), before);  // the bytes are back all the same
  EXPECT_TRUE(has_agent_mapping(child));
  EXPECT_TRUE(keeps_printing(out));
  EXPECT_TRUE(printed_in_order(out));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

// Whether the process has a handler for SIGTRAP (the agent's, after detach).
bool catches_sigtrap(pid_t pid) {
  std::string status = read_file("/proc/" + std::to_string(pid) + "/status").value_or("");
  auto at = status.find("SigCgt:\t");
  if (at == std::string::npos) return true;
  return (std::stoull(status.substr(at + 8, 16), nullptr, 16) >> (SIGTRAP - 1)) & 1;
}

// A followed fork child inherited the agent's areas and its SIGTRAP action:
// detach gives it the program's action back and takes the areas out, as in
// the parent, and both run on.
TEST(Jump, FollowedForkChildLosesTheInheritedAreasAtDetach) {
  auto t = launch({target("pk_spin", "pie-O2"), "0", "fork"}, backend(BackendChoice::jump));
  ASSERT_TRUE(t.session);
  auto w = t.session->add(count_only("a.out:work"));
  ASSERT_TRUE(w.ok()) << w.error().message();
  const pid_t pid = t.session->pid();
  // Until the child is there and both have counted (slow under sanitizers
  // on a loaded machine).
  Result<std::string> children = std::string();
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(t.session->run(0.1).ok());
    children = read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    if (children.ok() && !children->empty() && t.session->stats(*w).hits > 20) break;
  }
  ASSERT_TRUE(children.ok() && !children->empty());
  const pid_t child = static_cast<pid_t>(std::stol(*children));
  EXPECT_GT(t.session->stats(*w).hits, 20u);  // both count
  EXPECT_TRUE(has_agent_mapping(child));
  EXPECT_TRUE(catches_sigtrap(child));
  ASSERT_TRUE(t.session->detach().ok());
  EXPECT_EQ(t.session->detach_notes(), std::vector<std::string>{});
  for (pid_t p : {pid, child}) {
    EXPECT_FALSE(has_agent_mapping(p)) << p;
    EXPECT_FALSE(catches_sigtrap(p)) << p;
  }
  EXPECT_EQ(text_bytes(child, "pk_spin"), text_bytes(pid, "pk_spin"));
  EXPECT_TRUE(keeps_printing(t.out_path));
  ::usleep(100000);
  EXPECT_EQ(::kill(child, 0), 0);
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), 0);
  ::kill(child, SIGKILL);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// An unfollowed fork child is cleaned of our bytes and of our areas.
TEST(Jump, UnfollowedForkChildKeepsNoArea) {
  std::vector<std::string> argv = {target("pk_fork", "pie-O2"), "fork-maps"};
  std::string expected = run_plain(argv);
  ASSERT_NE(expected.find("child areas 0\n"), std::string::npos) << expected;
  LaunchOptions o = backend(BackendChoice::jump);
  o.follow_forks = false;
  auto t = launch(argv, o);
  ASSERT_TRUE(t.session);
  auto c = t.session->add(count_only("a.out:work"));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(t.session->run().ok());
  EXPECT_EQ(t.output(), expected);  // "child areas 0" included
  EXPECT_EQ(t.session->stats(*c).hits, 5u);
}

}  // namespace
}  // namespace probekit

namespace probekit {
namespace {

using namespace probekit::testing;

// Probe::fail (error injection, issue 8): at a jump site the agent
// overrides the call and the handler runs on its record; at a trap site
// the engine overrides. Either way every call fails, the handler sees each
// one, and stats() counts every call.
TEST_P(JumpBuilds, FailOverridesEveryCallWithEitherBackend) {
  for (BackendChoice b : {BackendChoice::jump, BackendChoice::trap}) {
    std::vector<std::string> argv = {target("pk_ret", GetParam()), "fail", "500"};
    auto t = launch(argv, backend(b));
    ASSERT_TRUE(t.session);
    Probe p;
    p.where = Location::parse("a.out:try_op").value();
    p.fail = Probe::Fail{-9, 1000000};
    uint64_t seen = 0;
    p.pre_handler = [&seen](HitContext&) { ++seen; };
    auto refused = t.session->add(p);  // not destructive
    EXPECT_FALSE(refused.ok());
    p.destructive = true;
    auto id = t.session->add(p);
    ASSERT_TRUE(id.ok()) << id.error().message();
    EXPECT_EQ(described_as_jump(*t.session, *id), b == BackendChoice::jump) << t.session->describe(*id).front();
    auto rc = t.session->run();
    ASSERT_TRUE(rc.ok()) << rc.error().message();
    EXPECT_EQ(t.output(), "fail: 2000 of 2000 calls failed\n");
    EXPECT_EQ(seen, 2000u);
    EXPECT_EQ(t.session->stats(*id).hits, 2000u);
  }
}

}  // namespace
}  // namespace probekit
