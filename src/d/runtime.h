// d/runtime.h — the state a compiled D program runs against, and the node
// interface the compiler builds programs from.
//
// A compiled clause is a tree of nodes (closures, in effect), each typed at
// compile time: integer nodes return int64_t already normalized to their D
// type (so `(uint8_t)x` costs one mask and comparisons never re-check
// widths), string nodes return a string_view into storage that outlives the
// call or into a caller-supplied scratch string (so reading probefunc or a
// string variable copies nothing). Only keys, stored values and printed
// values become Value objects, and key tuples are filled in place in
// per-node scratch so that a hit on an existing key does not allocate.
//
// A fault in an action (bad address, division by zero) is thrown as a
// Fault from the node and caught where the clause started (Runtime::fire):
// the clause is abandoned, its output discarded, ERROR fires. The exception
// never leaves this layer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "d/aggregation.h"
#include "d/passes.h"
#include "d/program.h"
#include "d/types.h"
#include "d/value.h"

namespace probekit::d {

// DTrace's fault codes (DTRACEFLT_*), reported as arg4 of ERROR.
enum class FaultKind : int {
  unknown = 0, bad_address = 1, bad_align = 2, illegal_op = 3, div_zero = 4, no_scratch = 5,
  bad_size = 10,  // DTRACEFLT_BADSIZE (bcopy() past its memory); Fault::what says it
  bad_index = 11  // DTRACEFLT_BADINDEX: address is the index
};

struct Fault {
  FaultKind kind = FaultKind::unknown;
  uint64_t address = 0;  // arg5 of ERROR
  std::string what;      // for illegal_op
};

// A dynamic variable drop (no room in dynvarsize): the clause ends there,
// its output with it, and it is no error, as dtrace-utils' dt_cg_store_var
// returns from the clause (Runtime::run_clause catches it).
struct ClauseDrop {};

class Runtime;
struct ProbeEntry;

inline constexpr uint64_t kScratchBase = 0xdead000000000000ULL;
inline constexpr size_t kScratchSize = 1 << 16;  // per firing, as DTrace's scratchsize
// The bytes of struct and union variables (Type::object), which D reads and
// writes by address as it does alloca() memory: globals and this-> ones in
// Runtime::var_mem, self-> ones in the firing thread's Runtime::thread_mem.
// Non-canonical, so no target address is ever mistaken for them.
inline constexpr uint64_t kVarBase = 0xdeae000000000000ULL;
inline constexpr uint64_t kThreadVarBase = 0xdeaf000000000000ULL;
// Struct- and union-valued associative array elements (dynamic variables):
// each element's bytes at an address of its own from kDynObjectBase +
// kDynObjectFirst (Runtime::dyn_objects), given when it is first stored and
// freed when 0 is stored; a missing element reads as zeroes from
// kDynObjectBase itself (dtrace-utils' zero area, dt_zerosize), which no
// store may write.
inline constexpr uint64_t kDynObjectBase = 0xdeb0000000000000ULL;
inline constexpr uint64_t kDynObjectFirst = uint64_t{1} << 32;
// curcpu: CPU n's cpuinfo_t (sched.d's cpu_id, cpu_pset, cpu_chip,
// cpu_lgrp, 4 bytes each) at kCpuInfoBase + n * kCpuInfoSize, which
// read_memory makes up as dtrace-utils fills its cpuinfo map on Linux.
inline constexpr uint64_t kCpuInfoBase = 0xdeb1000000000000ULL;
// A string met as a `char *` (`char *s = probeprov`, `(char *)curlwpsinfo->
// pr_name`): a copy in its strsize + 1 byte buffer, as DTrace holds it,
// in Exec::string_mem from kStringBase, for the firing (as alloca()'s).
inline constexpr uint64_t kStringBase = 0xdeac000000000000ULL;

// Per-firing state handed to every node.
struct Exec {
  Runtime& rt;
  FireContext& ctx;
  const ProbeEntry& probe;
  uint32_t epid = 0;
  int action = 0;            // 1-based statement index, for ERROR messages
  int spec = 0;              // speculation this clause records into (0: none)
  bool prefix_done = false;  // the "CPU ID FUNCTION:NAME" prefix is out
  std::string* out = nullptr;  // this clause's output
  int tid = 0;
  std::vector<Value>* self = nullptr;  // this thread's self-> slots, when looked up
  std::vector<uint8_t>* self_live = nullptr;  // which of them exist (Runtime::thread_live)
  uint64_t now = 0;          // timestamp of this firing
  // alloca()'s scratch memory: addresses from kScratchBase, which no user
  // address space maps (non-canonical), freed when the clause ends.
  std::string scratch_mem;
  // Strings taken as char * (kStringBase), freed with scratch_mem.
  std::string string_mem;

  std::vector<Value>* thread_vars(bool create);
  [[noreturn]] void fault(FaultKind kind, uint64_t address, std::string what = {}) const;
};

class Node {
public:
  explicit Node(Type t) : type(t) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual int64_t eval_int(Exec& x) const;
  // A view valid until the next evaluation that could change the storage it
  // points into; computed strings go into `scratch`.
  virtual std::string_view eval_str(Exec& x, std::string& scratch) const;
  // Stack and symbol nodes override this; others are built from the above.
  virtual Value eval_value(Exec& x) const;
  // Fills `out` in place (reusing its string capacity).
  virtual void eval_into(Exec& x, Value& out) const;
  // As a statement: for side effects.
  virtual void exec(Exec& x) const;
  // Counting probes (Program::countable): an expression whose value is the
  // same at every firing of a probe (literals, probefunc and its kin); a
  // statement that only counts with such keys, and that statement applied
  // n times at once.
  virtual bool probe_constant() const { return false; }
  // Records (Program::recordable): whether the node can run later, in the
  // tracer, on what a recorded hit keeps (registers, the stack words of
  // arg6..arg9, the thread, the time): nothing that acts on the stopped
  // thread, and no target memory read other than a string at an address
  // held in a register at the hit (copyinstr(arg0)), which `needs` gets.
  virtual bool record_safe(RecordNeeds& needs) const {
    (void)needs;
    return false;
  }
  // The user_regs_struct word whose value at the hit this node is (argN at
  // an entry, uregs[R]), or -1.
  virtual int register_word() const { return -1; }
  virtual bool counts_only(const Runtime&) const { return false; }
  virtual void exec_counted(Exec& x, uint64_t n) const;

  const Type type;
};
using NodePtr = std::unique_ptr<Node>;

struct CompiledClause {
  NodePtr predicate;            // null: always
  std::vector<NodePtr> body;
  bool records_data = false;    // prints the probe line before its output
  bool empty = false;           // no statements: DTrace's default action
  bool speculates_only = false; // speculate() its only action: the default action, speculated
  uint32_t record_strings = 0;  // strings its record holds (strsize each) ...
  uint32_t record_values = 0;   // ... and other values (8 bytes each)
};

struct ProbeEntry {
  uint32_t id = 0;
  ProbeKey key;
  std::string probe_text;  // "pid1234:a.out:work:entry"
  std::vector<uint32_t> clauses;
  std::vector<uint32_t> epids;  // one per clause, same order
  std::vector<ProbeArg> args;   // the parameters' types, when known
  std::vector<ProbeField> fields;  // kernel tracepoints: args->FIELD
  enum class Flow : uint8_t { none, entry, ret };
  Flow flow = Flow::none;       // for -F: "entry"/"*-entry", "return"/"*-return"
};

struct Speculation {
  bool active = false;    // allocated by speculation()
  bool committed = false; // commit() called: flushed at the end of the firing
  std::string buffer;
};

using ArrayMap = std::unordered_map<Key, Value, KeyHash, KeyEqual>;

class Runtime {
public:
  Runtime(Symbols symbols, const CompileOptions& options);

  // Output helpers used by nodes.
  void emit_prefix(Exec& x);
  void emit_header(std::string& out);  // dtrace(1)'s heading, once
  void emit(Exec& x, std::string_view text);  // a record (text already rendered)
  bool json() const { return format_ == OutputFormat::json; }
  // -f folded / -x aggfmt=folded: aggregations print as folded stacks.
  bool folded() const { return folded_; }
  bool quiet() const { return quiet_; }

  // The firing protocol (program.cpp uses these).
  bool fire(uint32_t id, FireContext& ctx);
  // A clause that ran in the agent (Program::agent_output), as run_clause
  // runs one here: `run` does its output actions (x.action set), or
  // `fault` (in action x.action) abandoned it there.
  void replay_clause(Exec& x, const std::function<void(Exec&)>& run, const Fault* fault);
  void print_remaining_aggregations();

  Symbols symbols;
  std::vector<CompiledClause> clauses;
  std::vector<ClauseInfo> clause_info;
  std::vector<ProbeEntry> probes;  // index = id - 1
  std::unordered_map<std::string, uint32_t> probe_ids;  // key.str() -> id
  uint32_t next_epid = 1;

  std::vector<Value> globals;
  std::vector<ArrayMap> arrays;  // by global slot (only array slots used)
  std::unordered_map<int, std::vector<Value>> thread_vars;
  // Which of a thread's self-> variables exist (hold a non-zero value and
  // are charged to dynvarsize), by tid as thread_vars.
  std::unordered_map<int, std::vector<uint8_t>> thread_live;
  std::vector<Value> clause_vars;
  std::string var_mem;                               // at kVarBase: struct globals and this-> structs
  std::unordered_map<int, std::string> thread_mem;   // by tid, at kThreadVarBase: self-> structs
  size_t thread_mem_size = 0;                        // bytes each thread's self-> structs take
  std::map<uint64_t, std::string> dyn_objects;       // by address: struct-valued array elements
  uint64_t dyn_object_next = kDynObjectBase + kDynObjectFirst;
  std::string dyn_zero;                              // at kDynObjectBase: a missing element's zeroes
  std::vector<Aggregation> aggs;
  std::vector<bool> agg_printed;
  SpaceBudget agg_budget;  // aggsize: every aggregation's keys
  SpaceBudget dyn_budget;  // dynvarsize: array elements and self-> variables
  uint64_t dyn_elem = 0;   // what each of them is charged (d::dynamic_variable_bytes)
  std::vector<Speculation> specs;  // index = id - 1
  size_t specsize = 0;             // bytes a speculation buffers (0: no bound)
  uint64_t spec_drops = 0;         // speculated records that did not fit (specsize)
  // The principal buffer (bufsize, dtrace's default 4m): the records of one
  // firing must fit in it, as dtrace-utils' per-CPU output buffer holds what
  // the probe's clauses write before the consumer reads it; a clause's
  // record that does not fit is dropped (DTRACEDROP_PRINCIPAL). A record is
  // kRecordHeader bytes, strsize per string it records and 8 per value.
  static constexpr uint64_t kRecordHeader = 24;  // perf header, size, EPID and tag
  uint64_t bufsize = 4u << 20;
  uint64_t principal_used = 0;     // this firing's records so far
  uint64_t principal_drops = 0;
  // -x aggrate: printa() shows the consumer's copy of the aggregations,
  // taken at most every aggrate (dtrace_aggregate_snap: the first when the
  // consumer first reads, then at lastagg + aggrate), so printa()s in
  // between show the same, stale values. 0 (dtrace's default): live.
  uint64_t aggrate_ns = 0;
  uint64_t lastagg_ns = 0;
  // How soon dtrace's consumer wakes to read a record (dtrace_sleep: the
  // earliest of switchrate, aggrate and statusrate): a printa() is read
  // then, and shows a fresh copy if one is due by that time.
  uint64_t consume_wake_ns = 0;
  std::vector<Aggregation> agg_snapshot;
  void snap_aggregations(uint64_t now, uint64_t due_at);  // the rate-limited copy, as dtrace's
  uint64_t spec_unavailable = 0;   // speculation() calls with every buffer in use (nspec)

  OutputSink* sink = nullptr;
  Host* host = nullptr;
  std::unique_ptr<OutputSink> default_sink;
  std::unique_ptr<Host> default_host;

  bool exit_requested = false;
  int exit_status = 0;
  // Called once, when exit() first sets exit_requested (Program::set_on_exit).
  std::function<void()> on_exit;
  bool header_done = false;
  uint64_t fires = 0;
  uint64_t errors = 0;
  uint64_t rand_state = 0;
  std::string strtok_buffer;
  size_t strtok_pos = 0;
  bool in_error = false;
  size_t strsize = 256;
  // -x rawbytes: trace() shows its record's bytes as tracemem() does (a
  // string's strsize + 1, NUL-padded), as dtrace's dt_print_trace does.
  bool rawbytes = false;
  // aggsortkey, aggsortkeypos, aggsortpos, aggsortrev (every aggregation
  // sorts by it); apply_sort_options() reads them again after a setopt().
  AggSort agg_sort;
  void apply_sort_options();
  // "error in dt_clause_N for probe ID P (prv:mod:fun:prb)": where a
  // clause's run-time error happened, as dtrace-utils words it.
  std::string clause_where(const Exec& x) const;
  size_t printsize = 8192;  // print() shows a type's first printsize bytes (DTrace's option)
  int ustackframes = 100;
  int ustackframes_max = 1000;  // ustackdepth's walk, and the most ustack() shows (maxframes)
  size_t scratchsize = kScratchSize;  // alloca()'s space per firing
  OutputFormat format_ = OutputFormat::text;
  bool folded_ = false;
  bool quiet_ = false;
  int nspec = 1;

  // Called before any aggregation is printed (Program::set_agent_parts).
  std::function<void()> before_print;
  void sync() {
    if (before_print) before_print();
  }
  // Around each firing of the program's own clauses (Program::set_agent_globals):
  // the agent's global words read before, the clauses' changes given back after.
  std::function<void()> before_fire, after_fire;
  bool firing_ = false;  // inside fire() (ERROR fires from a clause's fault)

  uint32_t register_probe(const ProbeKey& key, std::vector<ProbeArg> args = {},
                          std::vector<ProbeField> fields = {});  // id (0: nothing matches)
  bool flow_indent = false;                   // -F / #pragma D option flowindent
  std::unordered_map<int, int> flow_depth;    // -F: indent per thread, in columns
  bool flow_applied = false;                  // this firing already moved the indent

private:
  void run_clause(Exec& x, uint32_t clause_index);
  void emit_flow_prefix(Exec& x);
  void report_fault(const ProbeEntry& p, uint32_t epid, int action, const Fault& f, FireContext& ctx);
};

// Reads target memory, or alloca()'s scratch memory at kScratchBase: a bad
// address is a fault (ERROR fires).
void read_memory(Exec& x, uint64_t addr, void* buf, size_t len);
// Writes D's own memory (alloca() scratch, struct variables); anything else,
// the target's user memory included, is a bad-address fault, as DTrace
// stores only into its own memory (copyout() writes the target's).
void write_memory(Exec& x, uint64_t addr, const void* buf, size_t len);

// Renders trace(value) as dtrace(1) does (quiet or not).
std::string render_trace(const Value& v, bool quiet);

}  // namespace probekit::d
