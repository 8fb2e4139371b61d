// d/passes.h — the named passes between the parser and the compiler.
//
//   macros    $target, $pid, $1..$9, $$1 in descriptions and expressions;
//             descriptions split into provider:module:function:name
//   options   #pragma D option and -x: known names, valid values
//   semantic  names resolved (builtins, registers, variables, functions),
//             types inferred and checked, aggregations declared
//   actions   per-clause rules: destructive actions need -w, the order of
//             speculate/commit/discard against other actions
//
// The PassManager runs them in order and stops after the first pass that
// reported an error (bpftrace's pass manager): every error of that pass is
// reported, none of the noise later passes would make of a broken tree.
// The semantic pass leaves its results in Symbols (variables, aggregations,
// options) and in the annotation fields of the AST, which the compiler reads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "d/aggregation.h"
#include "d/ast.h"
#include "d/builtins.h"
#include "d/diagnostic.h"
#include "d/program.h"

namespace probekit::d {

// A clause's probe description as the program and the front ends see it
// (range left to the caller, who knows the file).
ProbeDescription description_of(const ProbeDesc& d);

// e.id of ExprKind::index nodes.
enum class IndexKind { args = 0, uregs = 1, array = 2 };
// e.id of ExprKind::call nodes inside agg_set: the AggFn; elsewhere the Fn.

struct VarDecl {
  std::string name;
  Type type;            // value type (none until first assignment)
  bool is_array = false;
  std::vector<Type> keys;
  int slot = 0;
  Loc loc;              // first use
  bool declared = false;  // typed by a declaration: keeps its type (no widening)
  int64_t dim = 0;        // int a[5]: 5 (keys is {int}); 0 for associative arrays
  bool alloca = false;    // assigned an alloca() pointer (dtrace's DT_IDFLG_ALLOCA)
};

// inline TYPE NAME = value;
struct InlineDecl {
  std::string name;
  Type type;
  Expr* value = nullptr;  // in ProgramAst::decls, typed by the semantic pass
  Loc loc;
  // An inline array (`inline int a[int x, int y] = x + y;`): its keys'
  // types and names, which a use `a[1, 2]` replaces in the value.
  std::vector<Type> keys;
  std::vector<std::string> params;
};

struct AggDecl {
  std::string name;
  AggFunc func = AggFunc::count;
  AggParams params;
  std::vector<Type> keys;
  int slot = 0;
  Loc loc;
  bool declared = false;  // seen in an @name[...] = f() statement
};

struct Symbols {
  std::vector<VarDecl> globals;
  std::vector<VarDecl> thread_vars;  // self->
  std::vector<VarDecl> clause_vars;  // this->
  std::vector<AggDecl> aggs;
  std::vector<InlineDecl> inlines;
  std::map<std::string, std::string> options;  // pragmas, then -x
  // The size of each struct or union the program names, by Type::tag - 1
  // (ProgramAst::structs): what a struct-valued dynamic variable holds.
  std::vector<uint64_t> object_sizes;

  VarDecl* find(std::vector<VarDecl>& in, const std::string& name);
  AggDecl* find_agg(const std::string& name);
};

// What one dynamic variable (a self-> variable or an associative array's
// element) takes of -x dynvarsize, dtrace-utils' rule (dt_bpf.c
// gmap_create_dvars: dynvarsize / (dt_maxtuplesize + dt_maxdvarsize)
// variables): the program's largest tuple (dt_cg_arglist: the variable's
// 4-byte id, each key at its alignment, a string key strsize + 1, a stack
// stack_bytes, then the 8-byte thread key) plus its largest value (an
// integer its size, a string strsize, a struct or union its type's size,
// as dt_ident_set_storage charges it). 0 when
// the program has no dynamic variable. The tracer and the agent charge it
// per variable.
uint64_t dynamic_variable_bytes(const Symbols& s, uint64_t strsize, uint64_t stack_bytes);

struct PassContext {
  ProgramAst& ast;
  Diagnostics& diags;
  const CompileOptions& options;
  Symbols& symbols;
};

class Pass {
public:
  explicit Pass(std::string name) : name_(std::move(name)) {}
  virtual ~Pass() = default;
  const std::string& name() const { return name_; }
  virtual void run(PassContext& ctx) = 0;

private:
  std::string name_;
};

class PassManager {
public:
  void add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  // True when every pass ran without errors; otherwise `failed_pass` names
  // the pass that stopped the pipeline.
  bool run(PassContext& ctx);
  const std::string& failed_pass() const { return failed_; }

private:
  std::vector<std::unique_ptr<Pass>> passes_;
  std::string failed_;
};

std::unique_ptr<Pass> make_macro_pass();
std::unique_ptr<Pass> make_option_pass();
std::unique_ptr<Pass> make_semantic_pass();
std::unique_ptr<Pass> make_action_pass();
// All four, in order.
void add_default_passes(PassManager& pm);

// Splits an expanded description into its four fields from the right
// ("entry" -> name; "malloc:entry" -> function, name); false when it has
// more than four fields.
bool split_probe_desc(const std::string& text, ProbeDesc& out);

// The options D knows, with whether each takes a value.
bool is_known_option(const std::string& name, bool* takes_value = nullptr);

// The D language version this compiler implements, as dtrace -V names it
// ("Oracle D 2.0"), and the highest `-x version=` accepts. probekit's D is
// dtrace-utils' (its semantics are the ones the conformance suite checks:
// strsize, string functions, print(), the drops), whose latest is 2.0;
// Solaris/illumos scripts that ask for 1.0 to 1.13 are accepted too.
inline constexpr const char* kDVersion = "2.0";
inline constexpr const char* kDDialect = "Oracle D";

// A switch's value (quiet=yes, -x flowindent=0): on, off, or not a value.
std::optional<bool> option_switch(const std::string& value);
// A size option's value in bytes ("4m"), or nullopt.
std::optional<uint64_t> option_size(const std::string& value);
// The printsize option as DTrace takes it: a size up to 64k rounded up to
// 8 bytes; anything else (or nothing) is the default, 8192.
size_t print_size(const std::string& value);
// A rate option's value as a period in ns ("10hz", "500ms"), or nullopt.
std::optional<uint64_t> option_rate_ns(const std::string& value);
// Whether `-x version=` names a D version this compiler covers.
bool option_version(const std::string& value);

}  // namespace probekit::d
