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

#include <array>
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
  // An address must lie inside a function whose symbol has a size, so
  // that the engine can check it starts an instruction (a probe in the
  // middle of one would break the program); add() refuses it otherwise.
  // Set only for addresses the program itself vouches for (a USDT note's
  // probe site).
  bool trusted_address = false;
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
  // `where` must name a function's entry (offset 0, or 4 after endbr64).
  // Mechanisms: ret_site puts an internal probe on every `ret` and tail-call
  // jmp of the function (and of its FUNC.cold parts) and rewrites no stack
  // (a tail call's return fires at the caller's return address, once the
  // function jumped to has returned);
  // it is refused (with the reason) when an indirect jmp means the exits
  // cannot all be found. hijack replaces the return address at entry with a
  // trampoline (uretprobes), refused on a CET shadow stack. automatic:
  // ret_site where possible, else hijack (Session::describe says which).
  // pre_handler, when also set, runs at the entry. hits counts return
  // handler calls; missed counts calls not reported (maxactive reached,
  // instances dropped by longjmp or by a C++ exception unwinding them).
  ReturnHandler return_handler;
  EntryHandler entry_handler;
  size_t data_size = 0;
  int maxactive = 0;          // 0: default: 64 outstanding calls per thread
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
  // Called on the tracer thread (inside run()) when a pending probe arms in
  // a module that was mapped after add(); describe(id) then says how.
  std::function<void(uint32_t id)> armed_handler;
  std::string name;           // for listings and error messages

  // A counting probe: no handler at all, only stats().hits (trace -C, D's
  // count() with a constant key). Such a probe can be a jump probe, counted
  // inside the target by the agent without any ptrace stop
  // (LaunchOptions::backend); handlers must be empty.
  bool count_only = false;

  // A recorded probe: pre_handler runs later, in the tracer, on a record
  // the agent wrote at the hit, without any ptrace stop (a jump probe;
  // LaunchOptions::backend). Where the site cannot be a jump probe it is a
  // trap probe and pre_handler runs at the hit as usual. From a record the
  // handler sees regs() (the general registers, rip, eflags, rsp and
  // fs_base at the probed instruction), pid/tid/ppid/comm, cpu() (the CPU
  // the hit ran on), timestamp_ns() (the hit's time), site(), symbolize()
  // and lookup_symbol(), and it reads memory only as `capture` lists it:
  // read() and read_string() return what the agent read at the hit (a
  // fault where it could not), anything else is a bad_address error, as
  // are fpregs(), writes and override_return(). Handlers run in the
  // order of the hits' timestamps, at most about 50 ms after them (before
  // run() returns and before detach). A hit whose record cannot be written
  // (its thread's buffer is full) is counted in stats().missed and in
  // Session::dropped_records(). pre_handler only: no post, fault or return
  // handler, not destructive.
  struct CaptureRead {
    int reg = -1;                  // base: offsetof(user_regs_struct, R) / 8; -1: immediate
    uint64_t immediate = 0;
    std::vector<int64_t> derefs;   // at most 8, innermost first: every one but the
                                   // last reads 8 bytes at v + d (v = that value)
    uint8_t size = 8;              // bytes read at the last dereference (1..8)
    bool string = false;           // instead: a NUL-terminated string of at most
                                   // 4096 bytes there (at the base value itself
                                   // when derefs is empty)
  };
  struct Capture {
    std::vector<CaptureRead> reads;
    // The registers regs() holds, as a mask of user_regs_struct word
    // indexes (offsetof / 8); the others read as 0 (cs and ss as
    // 0x33/0x2b, orig_rax as -1). Fewer registers, smaller records.
    // gs_base and the segment selectors are never kept.
    uint32_t registers = ~0u;
  };
  std::optional<Capture> capture;

  // Code the in-process agent runs at each hit instead of a handler (D
  // clauses compiled by d/agent_codegen.h for agent/dvm.h), on the state
  // set by Session::set_agent_state(). A jump site runs it in the target;
  // where the probe cannot be one, the tracer runs the same code on the
  // same state when the thread stops. No handlers; not with count_only.
  std::shared_ptr<const std::vector<uint8_t>> agent_code;
  // A filter a jump site at a function's entry checks in its trampoline,
  // before it saves anything: agent_code runs only when, for at least one
  // clause, every term holds (a predicate `/arg0 == 12345/` rejects a hit
  // in two instructions). Each term compares an argument register (a
  // user_regs_struct word, as 8 or 4 bytes) with a constant. Empty: none.
  struct GuardTerm {
    enum class Cond : uint8_t { eq, ne, lt, le, gt, ge, ult, ule, ugt, uge };
    int reg = 0;
    uint8_t size = 8;
    Cond cond = Cond::eq;
    int64_t imm = 0;
  };
  std::vector<std::vector<GuardTerm>> agent_guard;
  // agent_code at the function's returns instead (a return probe without
  // a return_handler; `where` names the function's entry): rax is the
  // return value, and PK_DVAR_RETOFF the offset of the returning
  // instruction (HitContext::return_offset(), 0 when unknown). A function
  // whose return can be a jump return site (the agent's shadow stack,
  // return_probes.h) runs the code in the target at its return; any other
  // runs it in the tracer at its trap return sites, on the same state. No
  // guard, data_size or maxactive.
  bool agent_at_return = false;
  // The code reads PK_DVAR_RETOFF: a jump return site knows it only for a
  // function with exactly one exit (a constant); the returns of the others
  // run the code in the tracer (Session::describe says why).
  bool agent_reads_return_offset = false;
  // The code may override the function's return (D's override(), -w:
  // PK_OP_OVERRIDE): at an entry jump site its trampoline then returns to
  // the caller with rax the value, and the function never runs (nor is
  // its return probe's return address hijacked, as a trap override never
  // reaches the function's returns); at a trap site the tracer overrides
  // (HitContext::override_return), as it does for an agent_at_return
  // probe's code at a return. Needs destructive.
  bool agent_overrides = false;
  // What agent_code asks the tracer to do (print, exit, report a fault):
  // called once per hit whose clauses wrote output items
  // (agent_abi.h PK_ITEM_DOUT/DFAULT), in the order of the other hits (a
  // jump site's from the thread's ring when it is drained, in time order
  // across threads; a trap site's at the hit).
  struct AgentOutput {
    int pid = 0, tid = 0, cpu = 0;
    std::string comm;
    uint64_t timestamp_ns = 0;
    const uint8_t* items = nullptr;  // nitems pk_item, each followed by its payload
    size_t bytes = 0;
    uint32_t nitems = 0;
  };
  std::function<void(const AgentOutput&)> agent_output;

  // Error injection (the kernel's fail_function, `probekit trace --fail`):
  // at a function's entry (`where` with offset 0, or 4 after endbr64),
  // per_million of the calls (1000000: every one) return `value` in rax
  // without running the function (HitContext::override_return), and
  // pre_handler runs for each of those calls only. A jump site samples and
  // overrides in the target (the agent's per-thread generator) and the
  // handler runs on a record, as for `capture` (set here or not: a
  // capture with no reads is used); a trap site samples in the tracer.
  // stats().hits counts every call, overridden or not. Needs destructive.
  struct Fail {
    int64_t value = 0;
    uint32_t per_million = 1000000;
  };
  std::optional<Fail> fail;

  // An is-enabled semaphore (USDT; kernel uprobes' ref_ctr_offset): the
  // link-time address, in the module `where` resolves in, of a 16-bit
  // counter the program tests before it reaches the probe (python calls
  // its probes only while it is non-zero). The session adds 1 to it in
  // every address space where the probe is placed (as soon as the word is
  // mapped writable: ld.so maps a library's data after its code, and the
  // loader's next event applies it, before the library's initializers run)
  // and takes that 1 back when the probe is removed and at detach, so a
  // process left behind has the counter as it was found. Not for return
  // probes.
  std::optional<uint64_t> semaphore;
};

using ProbeId = uint32_t;

struct ProbeStats {
  uint64_t hits = 0;
  uint64_t missed = 0;        // hits whose handler could not run (recursion, maxactive)
  size_t sites = 0;           // addresses armed now (0 while pending)
};

// System call probes (D's syscall::NAME:entry/return). The handler gets
// the HitContext of the calling thread (regs() as at the stop: rip just past
// the `syscall` instruction; site().symbol = site().raw_symbol = the call's
// name, site().module empty, site().address = rip) and the call:
struct SyscallEvent {
  int nr = -1;                          // x86-64 number (syscalls::syscall_name(nr))
  std::array<uint64_t, 6> args{};       // arg0..arg5 at entry (rdi rsi rdx r10 r8 r9);
                                        // at return: the same entry values, remembered
  bool is_return = false;
  // Return only, as DTrace's syscall provider reports them: retval is what
  // the program sees through libc (-1 on error, else rax unchanged: a count,
  // an fd, an mmap address) and errno_value is the error (ENOENT...) or 0.
  int64_t retval = 0;
  int errno_value = 0;
};
using SyscallHandler = std::function<void(HitContext&, const SyscallEvent&)>;

// A named call always takes its exit stop too (also without a
// return_handler): it is how an interrupted, restarted call is recognised
// and reported once. stats().hits counts entries and returns fired.
struct SyscallProbe {
  std::vector<int> numbers;             // x86-64 system call numbers (not empty)
  SyscallHandler entry_handler;         // may be empty
  SyscallHandler return_handler;        // may be empty
  bool destructive = false;             // handlers may write registers (e.g. skip a call) and memory
  bool enabled = true;
  std::string name;
};

// Which mechanism arms a probe (`--backend`, `-x backend=`):
//   trap: int3 + out-of-line execution, handlers in the tracer (a stop per hit);
//   jump: `jmp` to a trampoline calling the in-process agent (no stop per
//     hit); only counting probes (Probe::count_only) at eligible sites, and
//     add() fails, with the reason, where that does not hold;
//   automatic: jump wherever eligible, trap elsewhere (describe() says which
//     mechanism each site got and why).
enum class BackendChoice { automatic, trap, jump };

struct LaunchOptions {
  BackendChoice backend = BackendChoice::automatic;
  // Hands-off: while run() waits and every probe of the (single) process
  // is a jump probe (no trap site, return probe, syscall probe, sampler or
  // probe waiting for a library), its threads are detached: the program
  // runs with no ptrace stop at all (signals included) and no tracer; run()
  // seizes them again before it returns. What is given up meanwhile: a
  // child it forks keeps the probes and counts into the same totals (its
  // records carry its own pid), a program it execs and a library it
  // dlopens are not probed, and another tracer may attach (then probekit
  // cannot take it back: the agent restores every byte itself when
  // probekit lets go of its death pipe). Needs glibc's thread layout
  // (its tid at fs:0x2d0), checked on every thread; otherwise the
  // session stays attached.
  bool hands_off = false;
  // D clauses in the agent run as native code (engine/dvm_native.h) where
  // they compile, else as bytecode for the agent's interpreter (-x
  // agentjit=off: always bytecode; the two give the same results).
  bool agent_native = true;
  std::string stdin_path;     // empty: inherit
  std::string stdout_path;    // empty: inherit; else created/truncated (launch only)
  bool follow_forks = true;   // trace children; false: clean breakpoints from them
  // Benchmark baseline: restore the byte, single-step in place, re-insert
  // (wrong with threads: others run through the unprobed instruction).
  // Also enabled by the environment variable PROBEKIT_NAIVE_BREAKPOINTS=1.
  bool naive_breakpoints = false;
  // Launch only: the system call numbers syscall probes may name. The child
  // installs a seccomp filter returning SECCOMP_RET_TRACE for exactly these
  // (plus restart_syscall when a call that restarts through it is named)
  // between fork and exec, so only these calls ever stop at the tracer
  // (PTRACE_EVENT_SECCOMP at entry, one more stop at exit when a probe
  // names the call); every other call costs nothing. Consequences
  // (src/syscall/seccomp_filter.h): a filter can never be removed, and
  // without a tracer every named call would fail with ENOSYS, so such a
  // session never detaches: detach() and the destructor disarm every probe
  // and keep passing the stops through until the whole process tree exits
  // (the target is killed if the tracer dies: PTRACE_O_EXITKILL), and fork
  // children are always followed (follow_forks is forced on).
  // Empty: no filter; syscall probes then use PTRACE_SYSCALL stops, as for
  // attached processes.
  std::vector<int> trace_syscalls;
};

// Modules and functions for `-l` listings and globbing.
struct ModuleInfo {
  std::string name;           // basename
  std::string path;
  uint64_t base = 0;          // load bias
  bool is_main_executable = false;

  // Whether `spec` names this module by Location's rule: "a.out" for the
  // main executable, its file name, a file-name prefix up to a '.'
  // ("libc", "libc.so" for "libc.so.6"), or its path; "" names any.
  bool named_by(const std::string& spec) const;
};

// One function *address*: several symbols may name it (glibc's free is also
// cfree, __free, __libc_free and __GI___libc_free); name and raw_name are
// the one a user would pick (elf::preferred_alias: global before local,
// fewer leading underscores, shorter), the others are aliases, in the same
// order of preference. A probe description that names an alias explicitly
// still selects the address.
struct FunctionAlias {
  std::string name;      // demangled
  std::string raw_name;  // as in the symbol table
};

struct FunctionInfo {
  std::string name;           // demangled
  std::string raw_name;       // as in the symbol table
  uint64_t address = 0;       // absolute
  uint64_t size = 0;
  std::vector<FunctionAlias> aliases;  // the other symbols at address
  // A part GCC split off another function ("f.cold"): entered by a jump
  // from f, never called. Globs skip it; its exits are f's returns.
  bool cold_part = false;
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

  // System call probes share the ProbeId space, enable/disable/remove and
  // stats() (sites = the number of system calls probed) with add().
  // Launched with LaunchOptions::trace_syscalls: every number must be in
  // that list (an error says so otherwise); only those calls stop.
  // Attached (or launched without trace_syscalls): every thread is resumed
  // with PTRACE_SYSCALL while any syscall probe is enabled, so EVERY system
  // call of the target costs two stops (entry and exit) and the numbers are
  // filtered in the tracer; this is the honest price of never leaving a
  // seccomp filter behind in a process that outlives the session. The
  // threads go back to PTRACE_CONT when the last syscall probe is disabled
  // or removed, and at detach.
  // A call interrupted by a signal and restarted by the kernel (also through
  // restart_syscall) fires entry and return once, for the final outcome. A
  // call that fails with EINTR instead of restarting and is immediately
  // issued again from the same instruction is reported as one call.
  virtual Result<ProbeId> add_syscall_probe(SyscallProbe probe) = 0;
  // How many syscall stops (seccomp entry, syscall entry and exit) the
  // session has handled: the cost of the syscall probes, for tests and -v.
  virtual uint64_t syscall_stop_count() const = 0;

  // Profile sampling (D's profile-N): about `hz` times a second, every
  // running thread of every traced process is interrupted (PTRACE_INTERRUPT,
  // one stop and one GETREGS per thread), `handler` runs with a HitContext
  // whose regs() are the thread's registers and whose site() describes
  // regs().rip (module, symbol and offset resolved: D's ufunc(uregs[R_PC])),
  // and the thread continues. A thread blocked in a system call samples in
  // its libc wrapper; the call is restarted by the kernel, unseen by the
  // program. Threads already stopped by the tracer at that moment (a probe
  // hit in progress, a held world) are not sampled. Sampling happens inside
  // run(); hz must be in (0, 10000].
  virtual Result<ProbeId> add_sampler(double hz, PreHandler handler) = 0;
  // A callback on the tracer thread (inside run(), between stops) every
  // `seconds` (D's tick-N). remove() cancels it; stats().hits counts calls.
  virtual Result<ProbeId> add_timer(double seconds, std::function<void()> callback) = 0;

  // Launched sessions stop at exec, when only the executable and ld.so are
  // mapped. This runs the target until the dynamic loader has mapped the
  // initial libraries (before it relocates them, so before IFUNC resolvers,
  // __libc_early_init, initializers and main) and stops it again, so
  // modules()/functions() list them (`-l -c`). A no-op when
  // that point has passed or for attached sessions.
  virtual Status load_libraries() = 0;

  virtual std::vector<ModuleInfo> modules() const = 0;
  virtual Result<std::vector<FunctionInfo>> functions(const std::string& module) const = 0;
  // The address of a function or data symbol ("total", "libc.so.6:environ"),
  // as HitContext::lookup_symbol resolves `@SYMBOL` at a hit; an unknown
  // name is no_such_symbol with the closest names.
  virtual Result<uint64_t> lookup_symbol(const std::string& name) const = 0;

  // Runs the target until it exits, stop() is called, or the deadline passes.
  // Returns the exit status of the main process when it exited (128+signal
  // when a signal killed it), or -1 when it is still running (stop() or the
  // deadline): the session stays attached and run() may be called again.
  // Uses signal SIGRTMIN+5 on the calling thread to wake from waitpid (a
  // no-op handler without SA_RESTART is installed once).
  virtual Result<int> run(std::optional<double> seconds = std::nullopt) = 0;
  // Once run() has returned the main process's status: the signal that
  // killed it, 0 when it exited (tells exit code 137 from SIGKILL).
  virtual int exit_signal() const = 0;
  // Async-signal-safe: makes run() return soon (SIGINT/SIGTERM handlers).
  virtual void stop() = 0;
  // Restores every byte and detaches, leaving the target running.
  // A launched session with LaunchOptions::trace_syscalls cannot detach (the
  // seccomp filter would make the named calls fail): detach() disarms every
  // probe and keeps serving the target, handlers off, until its whole
  // process tree exits, then returns. stop() during that wait makes detach()
  // return an error instead; the target keeps its tracer (and is killed by
  // PTRACE_O_EXITKILL when the tracing process exits).
  virtual Status detach() = 0;

  // How a probe was armed, one line per function or site (for `-v`), e.g.
  //   "work: ret-site, 3 returns (+0x1c, +0x2f, +0x40)"
  //   "malloc: hijack (indirect jmp at +0x55)"
  //   "site work+0x4: emulate (push rbp)"
  // Empty for an unknown id or a probe that is still pending.
  virtual std::vector<std::string> describe(ProbeId id) const = 0;

  // Records lost so far because a thread's buffer was full (recorded
  // probes), by the CPU the hit ran on: DTrace's "N drops on CPU C".
  struct Drops {
    int cpu = 0;
    uint64_t count = 0;
  };
  virtual std::vector<Drops> dropped_records() const = 0;

  // The state agent code (Probe::agent_code) runs on, in each traced
  // address space: per thread slot, part_bytes bytes starting with
  // self_words words of thread-local variables; `tables` is the
  // aggregation table the code names (agent_abi.h pk_dagg[], as bytes).
  // Set once, before the first probe with agent code.
  struct AgentState {
    std::vector<uint8_t> tables;
    uint32_t self_words = 0;
    uint32_t part_bytes = 0;
    bool output = false;  // the code writes output records (Probe::agent_output): drain them
    // Words shared by every thread of a process (D globals), after the
    // thread parts; each address space's are given to init_globals before
    // any of its threads runs agent code (the values the program holds).
    uint32_t global_words = 0;
    std::function<void(uint64_t*)> init_globals;
  };
  virtual Status set_agent_state(AgentState state) = 0;
  // Every address space's global words (AgentState::global_words), live,
  // writable (the caller adds to them atomically; also of processes gone).
  virtual std::vector<uint64_t*> agent_globals() const = 0;
  // Every thread part of every address space's state, live (probekit's
  // mapping; also of processes gone since): the caller reads what the
  // agents wrote.
  virtual std::vector<const uint8_t*> agent_parts() const = 0;
  // An address the agent code stored (a D key or value kept as an address:
  // ufunc(), usym(), uaddr(), umod(), ustack()), symbolized as
  // HitContext::symbolize(addr, true) symbolizes it at a hit, by every
  // module the address space has had mapped (also unmapped since, also
  // once the process has exited or exec'd): the address space whose state
  // holds `part` (one of agent_parts()), or with `part` null the one of
  // process `pid` (an output record's, Probe::AgentOutput::pid).
  virtual std::string agent_symbolize(const uint8_t* part, int pid, uint64_t addr) const = 0;
  // Hits whose agent code abandoned a clause (a fault, no thread slot).
  virtual uint64_t agent_faults() const = 0;
  // D's exit() was called where the program runs in probekit (BEGIN, a
  // tick, a clause the agent cannot run): from now on no agent runs a D
  // clause in any traced process (pk_control.dexited, as the agent's own
  // exit() sets it in its process), also in one set up later.
  virtual void stop_agent_clauses() = 0;

  // What detach() left in the target and why, one line each (for `-v`),
  // e.g. "pid 123: probekit's areas stay mapped: a word of thread 124's
  // stack points into one". Empty when it left nothing.
  virtual std::vector<std::string> detach_notes() const = 0;
};

}  // namespace probekit
