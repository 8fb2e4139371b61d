// d/compiler.h — from the checked AST to trees of typed nodes (runtime.h).
//
// The compiler trusts the semantic pass: every node it meets has a type and
// its names are resolved. It picks a node class per (operation, type) pair
// at compile time so that the VM never switches on types at run time, and
// folds what is constant.
#pragma once

#include <functional>
#include <vector>

#include "d/ast.h"
#include "d/builtins.h"
#include "d/runtime.h"

namespace probekit::d {

std::vector<CompiledClause> compile_clauses(ProgramAst& ast, Runtime& rt);

// An output action (printf, trace, printa, exit) whose value arguments were
// computed where the probe fired (d/agent_codegen.h): they read `values`, in
// order, when the node runs.
NodePtr compile_replay(Expr& call, const std::vector<Value>* values);

// ufunc(), usym(), umod() or uaddr() (`which`) of `addr` as a key or a
// value, from `symbolized`, what HitContext::symbolize(addr, true) gives
// ("module:func+0x10"): the tracer's at the hit, the agent's addresses'
// when probekit prints them (Program::absorb_agent, agent_output). The
// same text and the same key identity either way.
Value symbol_value(const std::string& symbolized, uint64_t addr, Fn which);
// The text alone (Fn::uaddr: every part).
std::string symbol_text(std::string symbolized, Fn which);
// ustack()'s text from its frames, innermost first: each frame's inlined
// functions (Host::inline_frames; at a return address, of the call
// instruction: one byte back) as "NAME [inlined]" lines, then the frame as
// uaddr() shows it (`symbolized`: what HitContext::symbolize(pc, true)
// says). The tracer's ustack() and the agent's keys
// (Program::absorb_agent) print the same.
std::string stack_text(const std::vector<uint64_t>& pcs, const std::function<std::string(uint64_t)>& symbolized,
                       const std::function<std::vector<std::string>(uint64_t)>& inlined);

// Exposed for tests: one expression on its own.
NodePtr compile_expr(Expr& e, Runtime& rt);

}  // namespace probekit::d
