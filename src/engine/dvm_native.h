// engine/dvm_native.h — D clauses compiled to x86-64 for the agent.
//
// The agent's interpreter (agent/dvm.h) spends most of a short clause
// dispatching: a jump table, stack bounds and an operand decode per op.
// This compiler turns a site's bytecode (d/agent_codegen.h) into machine
// code, once, in probekit; the agent calls it from pk_agent_hit instead of
// pk_dvm_run (pk_dprog.native). The one idea: the interpreter's stack
// depth is known at every op (jumps go forward only and the code
// generator proves the depth), so each stack word is a fixed slot of the
// native frame and an op is two to four instructions with no check left
// to make at run time but the ones the interpreter's faults need.
//
// Guarantees kept from the interpreter: the code is bounded (every branch
// goes forward), a clause that faults (no thread slot, a division by
// zero) is abandoned and counted as the interpreter counts it, and what
// an op computes is what dvm.h computes. What needs the agent (the
// thread's slot, the time, an aggregation's table) is a call to the
// agent's helpers at their absolute addresses (agent.c pk_agent_dvm_*),
// which run dvm.h's own code. An op that only makes an address (a
// literal, a self->/this-> string, a string global, execname) is an
// instruction or two, exit() one store; the complex ones (copyinstr's
// read, string copies, comparisons, strlen, keys, output items, memory
// reads, DTrace's faulting division, the arrays, ustack()) call the
// agent's pk_agent_dvm_op on the op's own bytes, which runs the
// interpreter's code for it (dvm.h pk_dvm_op) on the native frame's stack
// words. A clause with an op this compiler does not know (any op added
// later) is handed to the interpreter whole: the native code calls
// pk_agent_dvm_interpret on that clause's bytes. So every program runs,
// each clause in one form.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/agent_abi.h"
#include "util/result.h"

namespace probekit::engine {

// Where the native code runs: the addresses of the agent's helpers there
// (agent.c; their C signatures in dvm_native.cpp).
struct DvmNativeHelpers {
  uint64_t thread = 0;     // struct pk_thread *(struct pk_dvm_hit *): h->t, fetched once
  uint64_t part = 0;       // uint8_t *(struct pk_dvm_hit *): the thread's part of the D state, or 0
  uint64_t timestamp = 0;  // uint64_t (struct pk_dvm_hit *): h->now, read once
  uint64_t cpu = 0;        // uint64_t (struct pk_dvm_hit *)
  uint64_t aggregate = 0;  // void (const struct pk_dvm_hit *, uint8_t *part, uint32_t index, const uint64_t *args)
  uint64_t interpret = 0;  // uint32_t (struct pk_dvm_hit *, const uint8_t *code, uint32_t size): pk_dvm_run
  // uint32_t (struct pk_dvm_hit *, const uint8_t *op, uint32_t size, uint64_t *stack, uint32_t depth,
  // uint32_t action): one op the agent runs for native code, dvm.h pk_dvm_op (agent.c
  // pk_agent_dvm_op: strings, output, memory reads, arrays, ustack()); 0: clauses with such ops
  // are interpreted.
  uint64_t op = 0;
  // The agent's own TSC callback (agent.c pk_agent_dvm_tsc): a hit whose
  // h->tsc is this one reads the TSC in place, with no call (0: always the
  // timestamp helper, as for a caller with a clock of its own).
  uint64_t tsc = 0;
};

// The D state's shape, fixed once the agent's state is published
// (Agent::enable_dstate): the native code checks slots and tables when
// it is compiled instead of at each op.
struct DvmNativeState {
  const pk_dagg* daggs = nullptr;
  uint32_t ndaggs = 0;
  uint32_t self_words = 0;
  uint32_t global_words = 0;
  uint64_t globals_offset = 0;  // bytes from pk_dvm_hit.parts to the global words
  // The global words as probekit initialized them (the arrays' headers,
  // pk_darray: an array op's key words are its stack effect); 0: array ops
  // are interpreted.
  const uint64_t* globals = nullptr;
};

struct DvmNative {
  std::vector<uint8_t> code;  // position-independent: call it as uint32_t (*)(struct pk_dvm_hit *)
  uint32_t native_clauses = 0;
  // Clauses run by the interpreter: "clause N (OP)", N counted from 1.
  std::vector<std::string> interpreted;
};

// Compiles a program. code_at: the address of the bytecode where the
// native code runs (a clause handed to the interpreter is read there).
// An error (the whole program stays bytecode) names what is not compiled.
Result<DvmNative> compile_native(const std::vector<uint8_t>& code, uint64_t code_at, const DvmNativeHelpers& helpers,
                                 const DvmNativeState& state);

// For -v: "native code", "native code; interpreted: clause 2 (op 200)".
std::string describe(const DvmNative& native);

// The opcode's name, for messages.
std::string dvm_op_name(uint8_t op);

}  // namespace probekit::engine
