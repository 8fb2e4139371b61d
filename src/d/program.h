// d/program.h — the D front end as the rest of probekit sees it: compile a
// program, tell it which probes exist, fire them, end it.
//
// The binding, in the order the CLI uses it:
//
//   1. compile(source, file, options) -> CompileResult. On errors, .program
//      is null and .diagnostics renders as "FILE:LINE:COL: error: ... [D_ID]"
//      plus the source line and a caret. A program with errors never
//      reaches the engine.
//   2. program->clauses(): for each clause its probe descriptions (globs in
//      any field, "" = any; macros such as $target already expanded) with the
//      source position, to resolve against the target and to report a
//      description that matches nothing (unless -Z).
//   3. For each concrete probe found: program->register_probe(ProbeKey{
//      provider, module, function, name}) -> RegisteredProbe {id, clauses}.
//      The program matches the globs; id is 0 when no clause wants the
//      probe. Conventions for keys: BEGIN/END/ERROR are {"dtrace", "", "",
//      "BEGIN"} (ids 1, 2, 3 are reserved for them, as in DTrace); ticks
//      {"profile", "", "", "tick-1s"}; pid probes {"pid1234", "a.out",
//      "work", "entry"} (the main executable is "a.out"); system calls
//      {"syscall", "", "read", "entry"}.
//   4. At each hit: program->fire(id, ctx) with a FireContext (HitContext
//      for process probes, null for BEGIN/tick; args, errno, return value).
//      fire() returns true once exit() was called; the CLI then stops
//      tracing and calls end().
//   5. program->begin() fires BEGIN; program->end() fires END and prints
//      every aggregation not yet printed (DTrace's order and layout).
//
// Output goes to an OutputSink (stdout-like and stderr-like streams) in
// text (dtrace(1)'s layout) or JSON lines (bpftrace's -f json shapes).
// Effects the language cannot perform itself — stop, raise, system,
// override, the user's uid/gid, clocks, stack unwinding — go through a Host
// the binding implements; the defaults are usable for tests.
//
// A Program is single-threaded: one fire() at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent_abi.h"
#include "d/diagnostic.h"
#include "probekit/hit_context.h"
#include "util/result.h"

namespace probekit::d {

enum class OutputFormat { text, json };

struct ProbeDescription;
struct ProbeArg;

// One field of a kernel tracepoint's record, handed to register_probe() so
// that args->NAME reads it from FireContext::record (the event's format in
// tracefs gives offsets and sizes; the CLI translates it):
//   integer   size 1, 2, 4 or 8 bytes at offset, sign-extended when is_signed
//   data_loc  a u32 at offset: low 16 bits the string's offset in the
//             record, high 16 bits its length (__data_loc char[])
//   rel_loc   the same, the offset counted from the end of the u32
//   char_array a NUL-padded string of `size` bytes at offset
struct ProbeField {
  enum class Kind { integer, data_loc, rel_loc, char_array };
  std::string name;
  std::string c_type;
  Kind kind = Kind::integer;
  uint32_t offset = 0;
  uint32_t size = 8;
  bool is_signed = false;
  bool is_string() const { return kind != Kind::integer; }
};

// What CompileOptions::probe_fields answers for one probe description.
struct ProbeFieldsAnswer {
  bool applies = false;   // the description names probes with fields (kernel tracepoints)
  // The probes fire in the kernel (tracepoints, kprobes, profile-N without
  // a target), where stack(), stackdepth and caller would be the kernel's
  // frames, which probekit does not read.
  bool kernel = false;
  bool unknown = false;   // they have fields, but they cannot be read now (no tracefs, no rights):
                          // args-> is accepted untyped; the caller reports why before running
  std::string what;       // "tracepoint:sched:sched_process_exec", for messages
  std::vector<ProbeField> fields;
};

// A struct or union of the traced program, as its DWARF describes it (the
// CLI translates src/dwarf's Aggregate): what `struct foo` means when the
// program does not declare it, as DTrace reads the target's CTF. Members of
// nested structs are listed flattened ("a.b"); arrays have count > 0 and the
// element's kind and size.
struct TargetMember {
  enum class Kind { integer, pointer, floating, aggregate, other };
  std::string name;
  std::string type_name;  // C's spelling, as print() shows it: "int", "char [16]", "struct point"
  Kind kind = Kind::other;
  uint64_t offset = 0;
  uint32_t size = 0;  // bytes (of one element, for an array)
  bool is_signed = false;
  uint8_t bit_offset = 0, bit_size = 0;  // bit-fields
  uint64_t count = 0;                    // arrays
  std::string pointee_aggregate;         // pointers to a struct: "struct bar"
  uint32_t pointee_size = 0;             // pointers to an integer
  bool pointee_signed = false;
  std::vector<std::pair<int64_t, std::string>> enumerators;  // an enum's, which print() shows by name
};
inline constexpr uint64_t kCpuInfoSize = 16;  // sched.d's cpuinfo_t: four id_t

struct TargetAggregate {
  // A typedef of a scalar (asked by its bare name, "pthread_t"): what it
  // stands for, in `scalar` (kind integer or pointer, size, is_signed);
  // members then empty.
  bool is_scalar = false;
  TargetMember scalar;
  bool is_union = false;
  uint64_t size = 0;
  std::vector<TargetMember> members;
  // An enum (asked as "enum color", or as "enumerator RED" for the enum
  // that defines RED): its key and enumerators; members then empty.
  bool is_enum = false;
  std::string key;
  std::vector<std::pair<int64_t, std::string>> enumerators;
};

struct CompileOptions {
  std::vector<std::string> macro_args;  // $1, $2, ... ($0 is the script name)
  std::string script_name = "probekit"; // $0
  int target_pid = 0;                   // $target; 0 = no target ($pid is the tracer's own)
  bool destructive = false;             // -w
  bool quiet = false;                   // -q
  bool flow_indent = false;             // -F
  OutputFormat format = OutputFormat::text;
  // -x name[=value] options in command-line order, each checked, the later
  // winning (the program's #pragma D option wins over them all).
  std::vector<std::pair<std::string, std::string>> options;
  // Types args->FIELD: the fields of the probes a description names (the
  // CLI reads them from tracefs); null: args-> is an error.
  std::function<ProbeFieldsAnswer(const ProbeDescription&)> probe_fields;
  // The target's own struct, union and enum types ("struct foo", "enum
  // color", "enumerator RED", a typedef's bare name), for those the program
  // does not declare; null or nullopt: unknown.
  std::function<std::optional<TargetAggregate>(const std::string& key)> target_type;
  // The parameters of the function a pid description names (from its
  // DWARF), so that args[N] of a double or float parameter is a floating
  // value at compile time (printf("%f", args[1])); null or nullopt: args[N]
  // is the untyped 64-bit integer.
  std::function<std::optional<std::vector<ProbeArg>>(const ProbeDescription&)> probe_args;
};

struct ProbeKey {
  std::string provider, module, function, name;
  std::string str() const { return provider + ":" + module + ":" + function + ":" + name; }
};

struct ProbeDescription {
  std::string provider, module, function, name;  // globs; "" = any
  std::string text;    // as written ("pid$target::malloc:entry")
  std::string expanded;  // after macros ("pid1234::malloc:entry")
  SourceRange range;   // where it was written, for "matched no probes"
  // True when the description matches `key` (DTrace's glob rules per field).
  bool matches(const ProbeKey& key) const;
};

struct ClauseInfo {
  std::vector<ProbeDescription> descriptions;
  bool has_predicate = false;
};

// One argument of a pid probe as the probed function's DWARF declares it,
// handed to register_probe() so that args[N] has the parameter's type:
//   integer  read at `size` bytes, sign-extended when is_signed (an int -1
//            is -1, not 4294967295); bool, char and enums are integers too
//   pointer  64-bit unsigned
//   string   a char pointer: 64-bit unsigned, for copyinstr(args[N]) and
//            stringof(args[N])
//   floating a float/double: the bits of its SSE register (the nth
//            floating parameter's xmm, per the System V ABI); args[N] is a
//            float or double when CompileOptions::probe_args typed it so
// The caller fills FireContext::params[N] from the right place (register,
// stack slot or SSE register) at each hit; the program only interprets the
// bits. name and c_type are for listings (`-l -v`). A probe registered
// without args keeps DTrace's untyped 64-bit args[N] == argN.
struct ProbeArg {
  enum class Kind { integer, pointer, string, floating };
  std::string name;    // "" for an unnamed parameter
  std::string c_type;  // "const char *", "int", "double"
  Kind kind = Kind::integer;
  uint8_t size = 8;
  bool is_signed = true;
};

struct RegisteredProbe {
  uint32_t id = 0;                // 0: no clause matched
  std::vector<uint32_t> clauses;  // indices into clauses()
};

// What the engine knows at a firing.
struct FireContext {
  HitContext* hit = nullptr;   // null for BEGIN, END, ERROR, tick/profile
  uint64_t args[10] = {};      // arg0..arg9 (entry: rdi..r9, then the stack)
  // D's args[N] of a probe registered with ProbeArgs: the bits of parameter
  // N from wherever the ABI put it (an SSE register for a double, the stack
  // after six integer parameters), so params[1] of f(double, int) is edi
  // while arg1 stays rsi, as DTrace's argN are the raw integer slots.
  uint64_t params[10] = {};
  int errno_value = 0;         // syscall return probes
  int64_t retval = 0;          // return probes: the return value
  int cpu = 0;                 // used when hit is null
  // Kernel tracepoints: the event's raw record, read by args->FIELD
  // through the probe's ProbeFields.
  const uint8_t* record = nullptr;
  size_t record_size = 0;
};

class OutputSink {
public:
  virtual ~OutputSink() = default;
  virtual void out(std::string_view text) = 0;  // stdout (or -o FILE)
  virtual void err(std::string_view text) = 0;  // stderr
  virtual void flush() {}
  // freopen(): later output goes to `path` (appended), or back to where it
  // went at first when `path` is empty; ftruncate(): the output file is
  // emptied. Default: refused (an ERROR firing).
  virtual Status reopen(const std::string& path);
  virtual Status truncate();
};

// Appends to two strings (tests, the corpus).
class StringSink : public OutputSink {
public:
  void out(std::string_view text) override { out_.append(text); }
  void err(std::string_view text) override { err_.append(text); }
  // freopen()/ftruncate() are shown in the text: "-- freopen PATH --".
  Status reopen(const std::string& path) override {
    out_ += "-- freopen " + path + " --\n";
    return {};
  }
  Status truncate() override {
    out_ += "-- ftruncate --\n";
    return {};
  }
  const std::string& out_text() const { return out_; }
  const std::string& err_text() const { return err_; }

private:
  std::string out_, err_;
};

// Writes to stdio streams.
class FileSink : public OutputSink {
public:
  FileSink(std::FILE* out, std::FILE* err) : out_(out), err_(err) {}
  void out(std::string_view text) override;
  void err(std::string_view text) override;
  void flush() override;

private:
  std::FILE* out_;
  std::FILE* err_;
};

// What curpsinfo and curlwpsinfo show of a process and one of its threads
// (builtins.h, ProcField), as /proc/PID describes them.
struct ProcInfo {
  int pid = 0, ppid = 0, pgid = 0, sid = 0, nlwp = 1;
  uint32_t uid = 0, euid = 0, gid = 0, egid = 0;
  std::string psargs;  // the command line, its arguments joined by blanks (at most 79 chars, as PRARGSZ)
  int argc = 0;
  uint64_t argv = 0, envp = 0;  // the initial vectors (above argc at the stack's start)
  char state = 'R';             // the thread's /proc state letter
  int prio = 120;               // the kernel's prio (120 for nice 0)
};

// Effects and facts outside the language. Every method has a default that
// works without an engine (tests): clocks from CLOCK_MONOTONIC/REALTIME,
// destructive actions refused with an error.
class Host {
public:
  virtual ~Host() = default;
  virtual uint64_t monotonic_ns();   // timestamp when there is no HitContext
  virtual uint64_t walltime_ns();    // walltimestamp
  virtual int tracer_pid();          // pid/tid for BEGIN/END/tick (DTrace's own)
  virtual uint32_t uid_of(int pid);  // /proc/PID/status, cached
  virtual uint32_t gid_of(int pid);
  // /proc/PID/{stat,status,cmdline} and /proc/PID/task/TID/stat; what
  // cannot be read stays at its default.
  virtual ProcInfo proc_info(int pid, int tid);
  // Return addresses of the hitting thread, innermost first, at most
  // max_frames (default: frame-pointer walk through hit.read()).
  virtual std::vector<uint64_t> user_stack(const HitContext& hit, int max_frames);
  // The functions inlined at `pc` (DWARF's inlined subroutines, innermost
  // first, "a.out`mix"): ustack() shows each as a frame "a.out`mix
  // [inlined]" above the function they were inlined into. Default: none.
  virtual std::vector<std::string> inline_frames(const HitContext& hit, uint64_t pc);
  // The same for a pc the agent kept (an agent ustack() key's frames),
  // with no hit: `symbolized` is what HitContext::symbolize(pc, true)
  // says of it ("module:func+0x10"). Default: none.
  virtual std::vector<std::string> inline_frames_at(const std::string& symbolized, uint64_t pc);
  // Destructive actions (only reached when compiled with -w).
  virtual Status stop(FireContext& ctx);
  virtual Status raise(FireContext& ctx, int signal);
  virtual Status system(const std::string& command);
  virtual Status override_return(FireContext& ctx, int64_t value);
  // chill(ns): the hitting thread stays stopped `ns` longer (it is stopped
  // while the clause runs, so the default sleeps).
  virtual Status chill(FireContext& ctx, uint64_t ns);
  // rand() seed; tests return a constant.
  virtual uint64_t random_seed();
  // `chip`: CPU cpu's physical package, /sys/devices/system/cpu/cpuN/
  // topology/physical_package_id as dtrace-utils reads it (dt_conf_init), 0
  // when it cannot be read.
  virtual int32_t cpu_chip(int cpu);

private:
  std::map<int, int32_t> chips_;  // cpu_chip()'s answers, read once per CPU
};

// What a recorded hit must keep for a probe's clauses beyond the
// registers (Node::record_safe): the strings at the addresses these
// registers (user_regs_struct words) hold.
struct RecordNeeds {
  std::vector<int> string_regs;
};

class Program;

struct CompileResult {
  std::unique_ptr<Program> program;  // null when diagnostics has errors
  Diagnostics diagnostics;
  bool ok() const { return program != nullptr; }
};

CompileResult compile(std::string_view source, std::string file_name, const CompileOptions& options);
// The same, with the rendered diagnostics in an Error (kind parse).
Result<std::unique_ptr<Program>> compile_or_error(std::string_view source, std::string file_name,
                                                  const CompileOptions& options);

struct ProgramState;  // program.cpp
struct CompiledProgram;  // compiler.h

class Program {
public:
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  const std::vector<ClauseInfo>& clauses() const;
  // `args`: the probed function's parameters, when known (see ProbeArg).
  RegisteredProbe register_probe(const ProbeKey& key, std::vector<ProbeArg> args = {},
                                 std::vector<ProbeField> fields = {});
  // Fires probe `id` (from register_probe); true once exit() was requested.
  bool fire(uint32_t id, FireContext& ctx);
  // A probe whose every clause has no predicate and only counts (`@[k] =
  // count()` with keys that are the same at every firing: literals,
  // probefunc, probemod, probename, probeprov): its hits need not reach the
  // program one by one. fire_counted() applies n firings at once.
  bool countable(uint32_t id) const;
  void fire_counted(uint32_t id, uint64_t n);
  // Whether every clause of a probe can run later, in the tracer, on a
  // recorded hit (Node::record_safe: no target memory read, no action on
  // the thread; not under -F): the engine may then record its hits in the
  // target (Probe::capture) instead of stopping the thread for each.
  // `needs` gets the strings the record must keep (RecordNeeds).
  bool recordable(uint32_t id, RecordNeeds* needs = nullptr) const;
  // D in the agent (d/agent_codegen.h): the code of a probe whose clauses
  // all run where it fires (agent/dvm.h), or nullopt with why not. Probes
  // given agent code must all run it on the same shared state
  // (agent_layout()), and the program must be told where that state is
  // (set_agent_parts) before it prints an aggregation.
  std::optional<std::vector<uint8_t>> agent_code(uint32_t id, std::string* why = nullptr);
  // A return probe's agent code reads arg0 (the returning instruction's
  // offset): Probe::agent_reads_return_offset.
  bool agent_reads_return_offset(uint32_t id);
  // The probe's clauses call override(): Probe::agent_overrides.
  bool agent_overrides(uint32_t id);
  struct AgentLayout {
    std::vector<pk_dagg> aggs;  // the aggregation table (control's daggs)
    uint32_t self_words = 0;    // self-> variables at the start of each part
    uint32_t part_bytes = 0;    // one thread's part (0: no clause runs in the agent)
    bool output = false;        // some agent clause prints, exits or may fault (agent_output)
    uint32_t global_words = 0;  // global integer variables shared with the agent (pk_control dglobal_words)
  };
  const AgentLayout& agent_layout() const;
  // What the agent clauses of probe `id` asked for at one hit (output
  // records: agent_abi.h PK_ITEM_DOUT / PK_ITEM_DFAULT items): printed,
  // exit() taken, faults reported as ERROR, with the code this program's
  // tracer clauses use, so the output is the same. Nothing once exit() was
  // requested; true then.
  struct AgentHit {
    int pid = 0;  // the process (its addresses are symbolized by set_agent_symbolizer's function)
    int cpu = 0;
    int tid = 0;
    uint64_t timestamp_ns = 0;
    const uint8_t* items = nullptr;
    size_t bytes = 0;
    uint32_t nitems = 0;
  };
  bool agent_output(uint32_t id, const AgentHit& hit);
  // What the trampoline can check before running a probe's agent code
  // (d/agent_codegen.h agent_guard): per clause, terms that must all hold.
  struct GuardTerm {
    int word = 0;
    uint8_t size = 8;
    std::string op;  // "==" "!=" "<" "<=" ">" ">="
    bool is_signed = true;
    int64_t imm = 0;
  };
  std::vector<std::vector<GuardTerm>> agent_guard(uint32_t id) const;
  // Where each clause runs ("" = the agent), for -v.
  std::string clause_place(size_t clause) const;
  // The thread parts of every address space running agent code, read
  // (live) each time the program is about to print an aggregation: the
  // agent-owned aggregations are rebuilt from them.
  void set_agent_parts(std::function<std::vector<const uint8_t*>()> parts);
  // What an address the agent stored (a ufunc() key, a trace(ufunc(x))
  // value) is, as HitContext::symbolize(addr, true) says at a hit: of the
  // address space whose state holds `part` (a part from set_agent_parts'
  // function), or with `part` null of process `pid` (Session::
  // agent_symbolize). Unset: the address in hexadecimal.
  using AgentSymbolizer = std::function<std::string(const uint8_t* part, int pid, uint64_t addr)>;
  void set_agent_symbolizer(AgentSymbolizer symbolize);
  void absorb_agent();
  // Global variables shared with the agent (AgentLayout::global_words):
  // every address space's words, live. The program reads them before each
  // of its own firings and prints, and adds what its clauses changed to
  // every address space's words atomically after each firing (so a
  // concurrent x++ in the agent is kept). init_agent_globals fills a new
  // address space's words with the values the program holds (BEGIN's).
  void set_agent_globals(std::function<std::vector<uint64_t*>()> globals);
  void init_agent_globals(uint64_t* words);
  bool begin();  // fires dtrace:::BEGIN
  void end();    // fires dtrace:::END, prints the remaining aggregations

  void set_output(OutputSink* sink);  // default: stdout/stderr
  void set_host(Host* host);          // default: Host{}

  bool exit_requested() const;
  // Called once, at the first exit() wherever it runs (a clause here, or
  // an agent's exit item replayed by agent_output): dtrace-utils' activity
  // state leaves DRAINING then, so the caller stops the agents' clauses
  // and the counting sites' totals there (d_command.cpp).
  void set_on_exit(std::function<void()> on_exit);
  int exit_status() const;
  // Effective option value (pragmas, then -x), "" when unset.
  std::string option(const std::string& name) const;
  bool has_option(const std::string& name) const;  // set, with or without a value
  // Why tracing cannot start with these sizes, "" when it can: a buffer
  // (bufsize, aggsize, dynvarsize) smaller than one record, aggregation
  // entry or dynamic variable of the program (dtrace's "Enabling exceeds
  // size of buffer", EDT_BUFTOOSMALL). Names the option and its minimum.
  std::string enabling_error() const;
  // The consumer's side of -x aggrate: call at now_ns (CLOCK_MONOTONIC)
  // when next_consume_ns() (0: no such time) has come, as dtrace's consumer
  // takes its copy of the aggregations that printa() shows.
  void consume(uint64_t now_ns);
  uint64_t next_consume_ns() const;
  bool quiet() const;
  bool destructive() const;  // -w or #pragma D option destructive
  uint64_t fires() const;    // clause executions so far
  uint64_t errors() const;   // faults reported (ERROR firings)
  // Every aggregation as OpenMetrics text (d::openmetrics), for -x metrics=.
  std::string openmetrics() const;

private:
  friend CompileResult compile(std::string_view, std::string, const CompileOptions&);
  explicit Program(std::unique_ptr<ProgramState> state);
  std::unique_ptr<ProgramState> state_;
};

}  // namespace probekit::d
