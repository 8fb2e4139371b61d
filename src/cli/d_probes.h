// cli/d_probes.h — from a D program's probe descriptions to the probes the
// target has, armed.
//
// The one idea: the D program matches globs (Program::register_probe), the
// engine arms sites; this file enumerates the candidate probes each
// provider offers and connects the two, one method per provider:
//
//   dtrace:::BEGIN/END/ERROR   always there; fired by the program itself
//   profile:::tick-N           timers on the tracer (run loop slices)
//   profile:::profile-N        Session::add_sampler: every thread, N Hz;
//                              with no target, every CPU (cli/kernel_probes.h)
//   syscall::NAME:entry|return Session::add_syscall_probe; for a launched
//                              target the numbers go into its seccomp
//                              filter before it starts (launch_syscalls)
//   pidPID:MOD:FUNC:entry|return|OFFSET
//                              Session::add per function of each module
//   PROVIDERPID:MOD:FUNC:NAME  USDT (cli/usdt.h): Session::add at each
//                              .note.stapsdt site, with its semaphore;
//                              argN from the note's argument operands
//
// A description whose function field is a glob arms what can be armed and
// skips functions whose instruction cannot be probed safely (as DTrace's pid
// provider skips what it cannot instrument); a named function that cannot
// be probed is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/debug_args.h"
#include "cli/usdt.h"
#include "d/program.h"
#include "output/chrome.h"
#include "output/writer.h"
#include "probekit/probekit.h"

namespace probekit::cli {

class KernelProbes;

// tick-N[unit]: the period in nanoseconds (a bare N or "hz" is a rate).
std::optional<uint64_t> tick_period_ns(const std::string& name);
// profile-N[unit]: the sampling rate in Hz.
std::optional<double> profile_rate_hz(const std::string& name);
// A profile-N description (provider profile, or none): the ProbeBinder's
// sampler of the target's threads, or, with no target, KernelProbes'
// CPU-clock sampler on every CPU.
bool names_profile(const d::ProbeDescription& desc);
// Its rate in Hz, or the error naming what profile-N accepts.
Result<double> profile_rate(const d::ProbeDescription& desc);

// The system call numbers a program's syscall descriptions name, for a
// launched target's seccomp filter.
std::vector<int> launch_syscalls(const std::vector<d::ClauseInfo>& clauses);

// Module name as D sees it: a.out for the main executable, else the file name.
std::string d_module_name(const ModuleInfo& m);

// One concrete pid probe.
struct PidProbe {
  d::ProbeKey key;          // what D sees (module "a.out" or the file name)
  std::string module_path;  // what the engine arms
  std::string raw_symbol;
  uint64_t offset = 0;
  bool is_return = false;
};
Result<std::vector<PidProbe>> expand_pid(const d::ProbeDescription& desc, Session& s);

// USDT probes a description selects: the provider field matches the note's
// provider with the pid ("python1234", as python$target expands) or without
// it; module, function (the one the site is in) and name (DTrace's
// spelling, "function-entry") as for pid probes. key.provider is the
// spelling the description matched.
struct UsdtMatch {
  d::ProbeKey key;
  UsdtProbe probe;
};
std::vector<UsdtMatch> match_usdt(const d::ProbeDescription& desc, const std::vector<UsdtProbe>& probes, pid_t pid);

// -f chrome: the timeline the binder's handlers write. A pid (or syscall)
// entry and its return become one complete event, nested per thread as
// the calls were; any other firing of a probe with a thread is an instant
// event named by the probe.
struct Timeline {
  output::ChromeTrace trace;
  output::Writer* writer = nullptr;
  void enter(const HitContext& ctx, const d::ProbeKey& key);
  void leave(const HitContext& ctx, const d::ProbeKey& key);
  void instant(const HitContext& ctx, const d::ProbeKey& key);
  // args: JSON literals by name.
  void instant(const HitContext& ctx, std::string_view name, std::string_view category,
               const std::vector<std::pair<std::string, std::string>>& args);
};

// Arming feedback on a terminal: once arming one description's probes has
// taken `delay_s` (-x progress=, default 1 s), a line "probekit: armed K/N"
// is rewritten in place until they are all armed, then erased. Never when
// stderr is not a terminal (a pipe, a file) or with -q.
class ArmProgress {
public:
  ArmProgress(size_t total, double delay_s, bool enabled);
  ~ArmProgress() { finish(); }
  void armed(size_t done);
  void finish();  // erases the line (before anything else is said about the description)

private:
  size_t total_;
  double delay_s_;
  bool enabled_;
  bool shown_ = false;
  uint64_t start_ns_;
  uint64_t last_ns_ = 0;
};

struct BindOptions {
  bool zero_ok = false;  // -Z
  bool launched = false; // -c: a module not loaded at start-up may be loaded later (dlopen)
  bool quiet = false;    // -q (or the quiet option): no progress or skipped-function notes
  bool verbose = false;  // -v: name each skipped function
  bool typed_args = false;  // the program reads args[]: look up DWARF types
  ReturnMechanism return_mechanism = ReturnMechanism::automatic;  // -x retprobe=
  KernelProbes* kernel = nullptr;  // kernel tracepoint providers (cli/kernel_probes.h)
  bool agent = true;  // clauses that can run in the agent do (d/agent_codegen.h); not with -x backend=trap
  Timeline* timeline = nullptr;    // -f chrome: every hit reaches the program (no counting probes)
  double progress_delay_s = 1.0;   // -x progress=: when a terminal shows "armed K/N"
};

// "auto", "ret-site" or "hijack" (-x retprobe=, trace --return-mechanism).
Result<ReturnMechanism> parse_return_mechanism(const std::string& text);
// --backend / -x backend=: auto (jump where eligible), jump or trap.
Result<BackendChoice> parse_backend(const std::string& text);

// CLOCK_MONOTONIC in nanoseconds: the clock Tick::next_ns is on.
uint64_t now_ns();

struct Tick {
  uint32_t id = 0;
  uint64_t period_ns = 0;
  uint64_t next_ns = 0;  // now_ns() when it fires next
};

class ProbeBinder {
public:
  // Agent code for a pid probe, or null (its clauses run in the tracer).
  // The first one gives the session the program's agent state.
  void set_agent_code(Probe& probe, std::shared_ptr<const std::vector<uint8_t>> code, uint32_t id, bool is_return);
  std::function<void(const Probe::AgentOutput&)> agent_output_handler(uint32_t id);
  Result<std::shared_ptr<const std::vector<uint8_t>>> agent_code_for(uint32_t id, const std::vector<uint32_t>& clauses,
                                                                    const std::string& probe);
  ProbeBinder(d::Program& program, Session* session, DebugArgs& debug, BindOptions options);
  bool agent_state_set_ = false;
  // Binds every description of every clause, reporting each problem.
  // Returns the worst exit code (0 when everything bound).
  int bind_all();
  // How many probes each clause's descriptions matched, by clause: what
  // dtrace(1) sums into "description '...' matched N probes".
  const std::vector<size_t>& matched() const { return matched_; }
  // Stops early (returning 0) once interrupted() is set: a stop request
  // during arming leaves what is armed to the session's detach.
  std::vector<Tick>& ticks() { return ticks_; }
  // Probes whose clauses only count (d::Program::countable) are counting
  // probes in the engine: jump probes where eligible, counted in the
  // target. This hands the program the hits counted since the last call;
  // call it before anything that prints aggregations (ticks, END).
  void flush_counts();
  // At exit(): the counting probes' totals are what they are now, hits
  // after it are not handed to the program (nothing fires after exit(),
  // as dtrace-utils' activity state has it); the agents' D clauses stop.
  // Safe inside a firing: it only reads the engine's counters.
  void stop_at_exit();

private:
  static Error no_match(const d::ProbeDescription& desc);
  Result<size_t> bind_tick(const d::ProbeDescription& desc);
  Result<size_t> bind_profile(const d::ProbeDescription& desc);
  Result<size_t> bind_syscall(const d::ProbeDescription& desc);
  Result<size_t> bind_pid(const d::ProbeDescription& desc);
  Result<size_t> bind_pending(const d::ProbeDescription& desc);
  Result<size_t> bind_usdt(const d::ProbeDescription& desc);
  Result<size_t> bind_usdt_probes(const d::ProbeDescription& desc, const std::vector<UsdtProbe>& probes,
                                  bool pending);
  Probe pid_probe(const PidProbe& p, uint32_t id, std::shared_ptr<const ProbeParams> params);

  d::Program& program_;
  Session* session_;
  DebugArgs& debug_;
  BindOptions options_;
  std::set<std::string> armed_;
  std::vector<Tick> ticks_;
  std::vector<size_t> matched_;
  struct Counted {
    ProbeId engine_id = 0;
    uint32_t d_id = 0;
    uint64_t flushed = 0;  // hits already handed to the program
    std::optional<uint64_t> final_hits;  // stop_at_exit(): the hits before exit()
  };
  std::vector<Counted> counted_;
};

}  // namespace probekit::cli
