// d/agent_codegen.h — the pass that compiles clauses for the agent: D that
// runs where the probe fires (agent/dvm.h runs the code), as bpftrace's
// codegen turns its AST into BPF.
//
// The one idea: a piece of the program's state lives in one place. An
// aggregation or a self-> variable is *agent-owned* when every clause that
// touches it can run in the agent; those clauses are then *agent-ready*,
// and the state lives in the target's shared memory (one part per thread,
// agent_abi.h pk_dagg), read back into the program's aggregations before
// anything prints them (Program::absorb_agent). Output actions (printf,
// trace, printa, exit of integers and copyinstr strings) and faults (a
// division by a zero variable, an unreadable address) become items of an
// output record the tracer acts on (Program::agent_output) with the code
// the tracer's own clauses use. Global integer variables are one word per
// process shared by its threads, which the tracer's clauses read and write
// too (Program syncs them around each tracer firing), so they never move a
// clause. Strings are strsize-bounded copies the agent holds (literals,
// the probe's names, execname, copyinstr, self->/this-> strings): compared,
// measured, printed and used as aggregation and array keys (their bytes);
// string globals are strsize bytes per process, synced as the integers
// are (the changed copy wins). Anything
// else (the other string functions, string-valued arrays, args[])
// keeps its clause in the tracer, and with it every piece of state that
// clause shares. Ownership is a
// fixpoint: a clause that cannot run in the agent takes the state it
// touches with it, which can make other clauses not ready.
//
// A probe runs in the agent when it is a pid entry or return probe (at a
// return: arg0 the returning instruction's offset, arg1 and retval rax,
// run on the return side of the agent's shadow-stack hijack), every clause it
// fires is agent-ready and the program prints no flow indent; its code is
// its clauses in order, each `CLAUSE len, predicate, JZ end, statements`,
// with what is constant for the probe (probefunc, probemod, ...) folded in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_abi.h"
#include "d/ast.h"
#include "d/builtins.h"
#include "d/passes.h"
#include "d/types.h"

namespace probekit::d {

struct ProbeEntry;

// What one word (or two, for execname; `words` for another string) of an
// agent aggregation's key is. A symbol (ufunc(x), usym(x), uaddr(x), umod(x))
// is the address x: probekit symbolizes it when it prints
// (Program::absorb_agent), by the modules the address space had
// (Session::agent_symbolize), so a process gone by then still prints names.
// A stack (ustack(), ustack(N)) is its id in the thread's stack table
// (agent_abi.h pk_dstacks), whose frames probekit symbolizes the same way.
struct AgentKeyPart {
  enum class Kind : uint8_t { integer, string_id, comm, string, symbol, stack };
  Kind kind = Kind::integer;
  Type type;           // integer: the width and sign its Value gets
  uint32_t words = 0;  // string: its bytes (strsize, zero-padded) in words
  Fn fn = Fn::uaddr;   // symbol: which of the four
  uint32_t key_words() const { return kind == Kind::comm ? 2 : kind == Kind::string ? words : 1; }
};

struct AgentPlan {
  bool any = false;                      // some clause is agent-ready
  std::vector<bool> clause_ready;        // by clause index
  std::vector<std::string> clause_why;   // "" or why the clause stays in the tracer
  std::vector<int> agg_index;            // by D aggregation slot: its pk_dagg index, or -1
  std::vector<int> agg_slot;             // by pk_dagg index: the D aggregation slot
  std::vector<std::vector<AgentKeyPart>> agg_keys;  // by pk_dagg index
  std::vector<pk_dagg> aggs;             // by pk_dagg index
  std::vector<int> self_word;            // by self-> slot: its word in the part, or -1
  std::map<int, uint32_t> this_word;     // by -1 - this-> slot: its word in the part
  std::vector<uint32_t> scratch_word;    // a clause's n-th copyinstr() string: its words in the part
  uint32_t self_words = 0;
  // By a self-> variable's word: the word of a thread's part saying the
  // variable exists, charged to -x dynvarsize (PK_OP_SETSELFDYN, each
  // variable on its own, as the tracer charges it).
  std::map<uint32_t, uint32_t> self_flag;
  // Global integer variables an agent clause uses: one word each, shared by
  // the process's threads (pk_control dglobal_words); the tracer's clauses
  // use them too, through Program's sync of the shared words.
  std::vector<int> global_word;          // by global slot: its word, or -1
  std::vector<int> global_slot;          // by word: the global slot
  // Associative arrays of integers or strings keyed by integers and strings that only agent
  // clauses change (the tracer's clauses may read them): a table each in
  // the global words, after the scalars (agent_abi.h pk_darray), and one
  // pk_ddyn (the dynvarsize budget) before the first table.
  struct Array {
    int slot = 0;                // the global slot
    uint32_t word = 0;           // its pk_darray, counted from the end of the scalars
    uint64_t capacity = 0;
    uint32_t key_words = 0;
    uint64_t elem_bytes = 0;       // d::dynamic_variable_bytes (pk_darray)
    std::vector<uint32_t> key_parts;  // each key's words: 1 an integer, more a string's bytes
    uint64_t string_starts = 0;    // pk_darray's
    uint32_t string_key_words = 0;
    uint32_t value_words = 0;      // pk_darray's: 0 an integer value, else a string's room
  };
  std::vector<int> array_index;          // by global slot: its Array, or -1
  std::vector<Array> arrays;
  uint32_t array_words = 0;              // words of the pk_ddyn (arrays or self-> stores) and the tables
  bool arrays_read_in_tracer = false;    // a clause the tracer runs reads one (sync them at its firings)
  // String global variables an agent clause uses: strsize bytes and a NUL
  // each (string_words() words), after the scalars and array_words, shared
  // by the process's threads; the tracer's clauses use them through
  // Program's sync (the last store wins, agent_abi.h PK_OP_SSETGLOBAL).
  std::vector<int> string_global_index;  // by global slot: its index, or -1
  std::vector<int> string_global_slot;   // by index: the global slot
  uint32_t string_words() const { return strsize / 8 + 1; }
  uint32_t string_globals_word() const { return static_cast<uint32_t>(global_slot.size()) + array_words; }
  uint64_t dynvarsize = 1 << 20;         // the budget (0: none)
  uint32_t part_bytes = 0;               // bytes of one thread's part
  std::vector<std::string> strings;      // string ids of key parts
  // By id (PK_OP_OUT's and PK_OP_ACT's operand, an output item's address):
  // the clause and its 1-based statement (0: the predicate) an output
  // item or a fault comes from. Id 0 is none.
  struct Action {
    uint32_t clause = 0;
    int action = 0;
  };
  std::vector<Action> actions{Action{}};
  uint32_t strsize = 256;  // bytes copyinstr() reads (-x strsize)
  // ustack() and its family (PK_OP_USTACK), bounded as the tracer's walks
  // are (Runtime::ustackframes, ustackframes_max: -x maxframes).
  uint32_t ustackframes = 100, maxframes = 1000;
  // ustack() keys: each thread's stack table (pk_dstacks) at stack_offset
  // of its part, stack_capacity entries of 2 + stack_frames words (0: no
  // ustack() key), at most stack_limit of them used: as many stacks as
  // the tracer's -x aggsize holds keys with a stack (plan_agent).
  uint32_t stack_frames = 0, stack_offset = 0, stack_capacity = 0, stack_limit = 0;
  // A clause of a pid probe calls exit(): counting probes then run as
  // clauses (in the agent, which stops at the process's exit word, or in
  // the tracer, which stops at exit_requested) rather than as counters
  // handed over in bulk, which would count the hits after the exit()
  // (Program::countable).
  bool pid_exit = false;
};

// Decides where each clause runs and lays out the agent's state.
// `entries_per_agg`: table capacity (a power of two) of each aggregation in
// each thread's part.
AgentPlan plan_agent(ProgramAst& ast, const Symbols& symbols, bool flow_indent, uint32_t entries_per_agg,
                     uint32_t strsize = 256, uint64_t dynvarsize = 1 << 20, uint32_t ustackframes = 100,
                     uint32_t maxframes = 1000, uint64_t aggsize = 4 << 20);

// The code of one probe's clauses (agent_abi.h PK_OP_*), or why the probe
// cannot run in the agent. The plan's string table may grow (probe names
// as keys).
std::optional<std::vector<uint8_t>> agent_code(ProgramAst& ast, const Symbols& symbols, AgentPlan& plan,
                                               const ProbeEntry& probe, std::string* why);

// A necessary condition of a probe's clauses the trampoline can check
// before anything is saved (Probe::agent_guard): per clause, terms of its
// predicate's top-level conjunction that compare an argument register with
// a constant. Empty when some clause has no such term (it must always run).
struct AgentGuardTerm {
  int word = 0;        // user_regs_struct word
  uint8_t size = 8;    // compared as 8 or 4 bytes
  Op op = Op::eq;      // eq ne lt le gt ge
  bool is_signed = true;
  int64_t imm = 0;
};
std::vector<std::vector<AgentGuardTerm>> agent_guard(const ProgramAst& ast, const ProbeEntry& probe);

// A return probe's code reads arg0, the returning instruction's offset
// (PK_DVAR_RETOFF), or walks ustack() (its first frame is that
// instruction): the engine knows it at a jump return site only for a
// function with one exit (Probe::agent_reads_return_offset).
bool agent_reads_return_offset(ProgramAst& ast, const ProbeEntry& probe);

// The probe's clauses call override() (PK_OP_OVERRIDE): at an entry its
// trampoline returns to the caller when the code overrode
// (Probe::agent_overrides).
bool agent_overrides(ProgramAst& ast, const ProbeEntry& probe);

}  // namespace probekit::d
