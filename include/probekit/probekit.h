// probekit/probekit.h — the C++ API: kprobes for Linux processes.
//
//   auto session = probekit::Session::launch({"./server", "--port", "80"});
//   probekit::Probe p;
//   p.where = probekit::Location::parse("libc.so.6:malloc").value();
//   p.pre_handler = [](probekit::HitContext& ctx) {
//     std::printf("malloc(%llu)\n", ctx.regs().rdi);
//   };
//   auto id = (*session)->add(std::move(p));      // resolves, checks, arms
//   (*session)->run();                             // until the target exits or stop()
//
// A Session owns one traced process (and the children it follows). All
// handlers run on the thread that calls run(), one hit at a time, while the
// hitting thread is stopped. The destructor detaches: every patched byte and
// every hijacked return address is restored and the target keeps running.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probekit/hit_context.h"
#include "probekit/result.h"

namespace probekit {

// What the user names: SYMBOL, SYMBOL+OFFS, MODULE:SYMBOL[+OFFS],
// [MODULE:]0xADDR. A module is "a.out" (the main executable), a file name
// ("libc.so.6", matched against basenames; "libc" and "libc.so" also match,
// as DTrace does) or a path. Without a module, a symbol is searched in the
// main executable first, then in every loaded object in load order.
struct Location {
  std::string module;                  // empty: any
  std::string symbol;                  // empty when address is set
  uint64_t offset = 0;                 // bytes from the symbol's start
  std::optional<uint64_t> address;     // absolute, or relative to module's load base
                                       // when module is set (DTrace pid$t:mod:-:ADDR)
  static Result<Location> parse(const std::string& text);
  std::string to_string() const;
};

enum class ReturnMechanism { automatic, ret_site, hijack };

using PreHandler = std::function<void(HitContext&)>;
using PostHandler = std::function<void(HitContext&)>;
// Called when the probed instruction itself faults while executing out of
// line (the fault is then delivered to the target at the original address).
using FaultHandler = std::function<void(HitContext&, int signo)>;
// Return probes: entry_handler returning false skips the return handler for
// that call; `data` points at data_size bytes carried from entry to return.
using EntryHandler = std::function<bool(HitContext&, void* data)>;
using ReturnHandler = std::function<void(HitContext&, void* data)>;

struct Probe {
  Location where;
  PreHandler pre_handler;     // at the instruction, before it runs
  PostHandler post_handler;   // after the instruction ran (single-stepped or emulated)
  FaultHandler fault_handler;
  bool destructive = false;   // handlers may write registers and memory
  bool enabled = true;

  // Return probes (kretprobe): set return_handler to make this a return probe.
  ReturnHandler return_handler;
  EntryHandler entry_handler;
  size_t data_size = 0;
  int maxactive = 0;          // 0: default (64 per thread)
  ReturnMechanism mechanism = ReturnMechanism::automatic;

  // Arm later: a module that is not loaded yet is armed when it loads
  // (dlopen), instead of failing with no_such_module.
  // Pending rule: add() makes a probe pending instead of failing when its
  // module is not mapped (or, without a module, its symbol is in no mapped
  // object) and either allow_pending is set or the process was launched (or
  // exec'ed) and the dynamic loader has not finished loading the initial
  // libraries yet (before main). Such probes are armed the moment ld.so
  // reports the objects mapped (r_brk), before their code runs. A probe that
  // is still unresolved then stays pending with stats().sites == 0.
  bool allow_pending = false;
  std::string name;           // for listings and error messages
};

using ProbeId = uint32_t;

struct ProbeStats {
  uint64_t hits = 0;
  uint64_t missed = 0;        // hits whose handler could not run (recursion, maxactive)
  size_t sites = 0;           // addresses armed now (0 while pending)
};

struct LaunchOptions {
  std::string stdin_path;     // empty: inherit
  std::string stdout_path;    // empty: inherit; else created/truncated (launch only)
  bool follow_forks = true;   // trace children; false: clean breakpoints from them
  // Benchmark baseline: restore the byte, single-step in place, re-insert
  // (wrong with threads: others run through the unprobed instruction).
  // Also enabled by the environment variable PROBEKIT_NAIVE_BREAKPOINTS=1.
  bool naive_breakpoints = false;
};

// Modules and functions for `-l` listings and globbing.
struct ModuleInfo {
  std::string name;           // basename
  std::string path;
  uint64_t base = 0;          // load bias
  bool is_main_executable = false;
};

struct FunctionInfo {
  std::string name;           // demangled
  std::string raw_name;       // as in the symbol table
  uint64_t address = 0;       // absolute
  uint64_t size = 0;
};

// Threads: ptrace binds a traced process to the one tracer *thread* that
// attached it, so every method (add, run, detach, the destructor...) must be
// called from the thread that called launch()/attach(); only stop() may be
// called from anywhere (another thread or a signal handler).
class Session {
public:
  virtual ~Session() = default;

  // Starts argv[0] (searched in PATH) stopped before its first instruction.
  static Result<std::unique_ptr<Session>> launch(const std::vector<std::string>& argv,
                                                 const LaunchOptions& opts = {});
  // Seizes every thread of pid (stdin_path/stdout_path are ignored).
  static Result<std::unique_ptr<Session>> attach(pid_t pid, const LaunchOptions& opts = {});

  virtual pid_t pid() const = 0;

  // Resolves, checks (instruction boundary, deny-list, relocatability) and
  // arms. Many adds in a row share one stop of the world; nothing is written
  // before the checks pass.
  virtual Result<ProbeId> add(Probe probe) = 0;
  virtual Status enable(ProbeId id) = 0;
  virtual Status disable(ProbeId id) = 0;
  virtual Status remove(ProbeId id) = 0;
  virtual ProbeStats stats(ProbeId id) const = 0;

  // Launched sessions stop at exec, when only the executable and ld.so are
  // mapped. This runs the target until the dynamic loader has mapped the
  // initial libraries (before their initializers and before main) and stops
  // it again, so modules()/functions() list them (`-l -c`). A no-op when
  // that point has passed or for attached sessions.
  virtual Status load_libraries() = 0;

  virtual std::vector<ModuleInfo> modules() const = 0;
  virtual Result<std::vector<FunctionInfo>> functions(const std::string& module) const = 0;

  // Runs the target until it exits, stop() is called, or the deadline passes.
  // Returns the exit status of the main process when it exited (128+signal
  // when a signal killed it), or -1 when it is still running (stop() or the
  // deadline): the session stays attached and run() may be called again.
  // Uses signal SIGRTMIN+5 on the calling thread to wake from waitpid (a
  // no-op handler without SA_RESTART is installed once).
  virtual Result<int> run(std::optional<double> seconds = std::nullopt) = 0;
  // Async-signal-safe: makes run() return soon (SIGINT/SIGTERM handlers).
  virtual void stop() = 0;
  // Restores every byte and detaches, leaving the target running.
  virtual Status detach() = 0;
};

}  // namespace probekit
