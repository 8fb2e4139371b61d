// engine/dvm_native.cpp — see the header. Two passes per clause: check
// (every op known, the stack depth the same on every path into an op,
// every jump forward and inside the clause), then emit, so a clause is
// either all native or all interpreted.
//
// Registers of the native code (System V: rbx, r12-r14 callee-saved, so
// they survive the helpers): rbx the pk_dvm_hit, r12 the thread's part
// (0 until an op needs it), r13d the clauses abandoned, r14 the
// trampoline's frame (r15..rdi, rflags). Stack word i is [rsp + 8 * i].
#include "engine/dvm_native.h"

#include <asmjit/x86.h>

#include <cstddef>
#include <cstring>
#include <map>
#include <optional>

#include "agent/dvm.h"

namespace probekit::engine {

namespace {

namespace ax = asmjit::x86;

constexpr int32_t kFrameBytes = 8 * PK_DVM_STACK + 8;  // 4 pushes + this: rsp 16-aligned at calls

uint64_t u64_at(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t u16_at(const uint8_t* p) { return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8; }

// The ops whose native code calls the agent's pk_agent_dvm_op (dvm.h
// pk_dvm_op), and those that need it to be there (the string ops that
// only make an address do not call it, but go with the others).
bool calls_agent(uint8_t op) {
  switch (op) {
    case PK_OP_SREAD: case PK_OP_SSTORE: case PK_OP_SSETGLOBAL: case PK_OP_SCMP: case PK_OP_SLEN:
    case PK_OP_SKEY: case PK_OP_SJOIN: case PK_OP_SUBSTR: case PK_OP_STRCMP: case PK_OP_SSTOREDYN:
    case PK_OP_STK: case PK_OP_OUT: case PK_OP_OUTS: case PK_OP_LOAD: case PK_OP_DIVZ: case PK_OP_MODZ:
    case PK_OP_AGET: case PK_OP_ASET: case PK_OP_AADD: case PK_OP_ASGET: case PK_OP_ASSET: case PK_OP_USTACK:
      return true;
    default: return false;
  }
}
bool needs_agent_op(uint8_t op) {
  return calls_agent(op) || op == PK_OP_SVAR || op == PK_OP_SGLOBAL || op == PK_OP_SLIT || op == PK_OP_SCOMM;
}

// Operand bytes of the ops the compiler knows (arg: its operands, avail
// bytes of code from there); nullopt: not compiled.
std::optional<uint32_t> operand_bytes(uint8_t op, const uint8_t* arg, size_t avail) {
  switch (op) {
    case PK_OP_SCOMM: return 0;
    case PK_OP_SVAR: case PK_OP_SCMP: case PK_OP_SLEN: case PK_OP_SKEY: return 2;
    case PK_OP_SREAD: case PK_OP_SSTORE: case PK_OP_SJOIN: return 4;
    case PK_OP_SUBSTR: return 5;
    case PK_OP_SGLOBAL: case PK_OP_SSETGLOBAL: return 6;
    case PK_OP_SLIT: return avail < 2 ? 2 : 2 + u16_at(arg) + 1;  // its bytes and their NUL
    case PK_OP_STRCMP: return avail < 4 ? 4 : 4 + u16_at(arg + 2);  // strsize, the literal's length, its bytes
    case PK_OP_SSTOREDYN: return 10;
    case PK_OP_STK: case PK_OP_DIVZ: case PK_OP_MODZ: return 1;
    case PK_OP_LOAD: return 2;
    case PK_OP_OUT: return 3;
    case PK_OP_OUTS: return avail < 3 ? 3 : 3 + 2u * arg[2];  // id, n, each value's kind
    case PK_OP_AGET: case PK_OP_ASET: case PK_OP_AADD: case PK_OP_ASGET: return 4;
    case PK_OP_ASSET: return 6;
    case PK_OP_USTACK: return 13;
    case PK_OP_EXIT: return 0;
    case PK_OP_END: case PK_OP_DUP: case PK_OP_POP: case PK_OP_NEG: case PK_OP_NOT: case PK_OP_LNOT:
    case PK_OP_COMM: case PK_OP_OVERRIDE: case PK_OP_RAISE:
      return 0;
    case PK_OP_IMM: return 8;
    case PK_OP_REG: case PK_OP_VAR: return 1;
    case PK_OP_SELF: case PK_OP_SETSELF: case PK_OP_EXT: case PK_OP_JZ: case PK_OP_JMP: case PK_OP_CLAUSE:
    case PK_OP_AGG: case PK_OP_ACT: case PK_OP_GLOBAL: case PK_OP_SETGLOBAL: case PK_OP_ADDGLOBAL:
      return 2;
    case PK_OP_COMMEQ: return 16;
    case PK_OP_SETSELFDYN: return 8;
    default:
      if (op >= PK_OP_ADD && op <= PK_OP_UGE) return 0;
      return std::nullopt;
  }
}

// Words an op needs on the stack, and what it leaves in their place.
struct Effect {
  uint32_t need = 0;
  uint32_t push = 0;
};

class Compiler {
public:
  Compiler(const std::vector<uint8_t>& code, uint64_t code_at, const DvmNativeHelpers& helpers,
           const DvmNativeState& state)
      : code_(code), code_at_(code_at), helpers_(helpers), state_(state) {}

  // Checks [begin, end): every op known, depths agree. Empty: it compiles.
  std::string check(uint32_t begin, uint32_t end) {
    depth_.clear();
    calls_ = false;
    uint32_t d = 0;
    bool reachable = true;
    for (uint32_t pc = begin; pc < end;) {
      const uint8_t op = code_[pc];
      auto at = depth_.find(pc);
      if (at != depth_.end()) {
        if (reachable && at->second != d) return "stack depth differs at a join";
        d = at->second;
        reachable = true;
      }
      auto n = operand_bytes(op, code_.data() + pc + 1, code_.size() - pc - 1);
      if (!n || (needs_agent_op(op) && !helpers_.op)) return dvm_op_name(op);
      if (calls_agent(op)) calls_ = true;
      if (op == PK_OP_CLAUSE) return "a clause inside a clause";
      const uint32_t next = pc + 1 + *n;
      if (next > end) return "an op past the clause's end";
      auto e = effect(op, code_.data() + pc + 1);
      if (!e) return dvm_op_name(op) + " of a slot or table out of range";
      if (d < e->need || d - e->need + e->push > PK_DVM_STACK) return "stack depth out of range";
      d = d - e->need + e->push;
      if (op == PK_OP_JZ || op == PK_OP_JMP) {
        const uint32_t target = next + u16_at(code_.data() + pc + 1);
        if (target > end) return "a jump past the clause's end";
        auto [it, fresh] = depth_.emplace(target, d);
        if (!fresh && it->second != d) return "stack depth differs at a join";
      }
      reachable = op != PK_OP_JMP && op != PK_OP_END;
      pc = next;
    }
    auto at_end = depth_.find(end);
    if (at_end != depth_.end() && reachable && at_end->second != d) return "stack depth differs at the clause's end";
    return {};
  }

  void prologue() {
    a_.push(ax::rbx);
    a_.push(ax::r12);
    a_.push(ax::r13);
    a_.push(ax::r14);
    a_.sub(ax::rsp, kFrameBytes);
    a_.mov(ax::rbx, ax::rdi);
    a_.xor_(ax::r12d, ax::r12d);
    a_.xor_(ax::r13d, ax::r13d);
    a_.mov(ax::r14, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, frame)));
    epilogue_ = a_.newLabel();
  }

  // [begin, end), already checked; a fault abandons it: on to the clause's
  // end (the interpreter's clause_end), or, in the prefix, out.
  void emit(uint32_t begin, uint32_t end, bool clause) {
    std::map<uint32_t, asmjit::Label> labels;
    auto label = [&](uint32_t pc) {
      auto it = labels.find(pc);
      if (it == labels.end()) it = labels.emplace(pc, a_.newLabel()).first;
      return it->second;
    };
    asmjit::Label fault = a_.newLabel();
    uint32_t d = 0;
    bool reachable = true;
    end_ = end;
    action_ = 0;
    const bool calls = calls_;  // check()'s: this range calls the agent
    if (calls) {
      // The clause's output starts here (dvm.h pk_dvm_hit clause_out):
      // what a fault drops, what an op's DTrace fault drops before its
      // ERROR item (pk_dvm_fault), as CLAUSE sets it in the interpreter.
      a_.mov(ax::eax, ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, out_len)));
      a_.mov(ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, clause_out)), ax::eax);
      a_.mov(ax::eax, ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, out_items)));
      a_.mov(ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, clause_items)), ax::eax);
      a_.mov(ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, clause_dropped)), 0);
    }
    for (uint32_t pc = begin; pc < end;) {
      auto jd = depth_.find(pc);
      if (jd != depth_.end()) {
        d = jd->second;
        reachable = true;
      }
      if (labels.count(pc) || jd != depth_.end()) a_.bind(label(pc));
      const uint8_t op = code_[pc];
      const uint8_t* arg = code_.data() + pc + 1;
      const uint32_t next = pc + 1 + *operand_bytes(op, arg, code_.size() - pc - 1);
      if (reachable) d = op_(op, arg, d, next, label, fault);
      reachable = op != PK_OP_JMP && op != PK_OP_END;
      pc = next;
    }
    // Every branch goes forward: the clause's end (where its JZs and a
    // normal finish go), then its fault block, which falls through.
    asmjit::Label done = a_.newLabel();
    a_.bind(label(end));
    a_.jmp(done);
    a_.bind(fault);
    if (calls) {  // the clause's output goes with it
      a_.mov(ax::eax, ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, clause_out)));
      a_.mov(ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, out_len)), ax::eax);
      a_.mov(ax::eax, ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, clause_items)));
      a_.mov(ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, out_items)), ax::eax);
    }
    a_.inc(ax::r13d);
    if (!clause) a_.jmp(epilogue_);
    a_.bind(done);
  }

  // A clause the interpreter runs: its bytes as a program of their own.
  void interpret(uint64_t at, uint32_t size) {
    a_.mov(ax::rdi, ax::rbx);
    a_.mov(ax::rsi, asmjit::imm(at));
    a_.mov(ax::edx, asmjit::imm(size));
    call(helpers_.interpret);
    a_.add(ax::r13d, ax::eax);  // r12 stays right: the part is h->t's, which the interpreter only ever sets
  }

  Result<std::vector<uint8_t>> finish() {
    a_.bind(epilogue_);
    a_.mov(ax::eax, ax::r13d);
    a_.add(ax::rsp, kFrameBytes);
    a_.pop(ax::r14);
    a_.pop(ax::r13);
    a_.pop(ax::r12);
    a_.pop(ax::rbx);
    a_.ret();
    if (holder_.flatten() != asmjit::kErrorOk || holder_.resolveUnresolvedLinks() != asmjit::kErrorOk)
      return Error("assembling native D code failed", ErrorKind::internal);
    const asmjit::CodeBuffer& buf = holder_.textSection()->buffer();
    return std::vector<uint8_t>(buf.data(), buf.data() + buf.size());
  }

private:
  std::optional<Effect> effect(uint8_t op, const uint8_t* arg) const {
    switch (op) {
      case PK_OP_IMM: case PK_OP_REG: case PK_OP_VAR: return Effect{0, 1};
      case PK_OP_SELF:
        if (u16_at(arg) >= state_.self_words) return std::nullopt;
        return Effect{0, 1};
      case PK_OP_SETSELF:
        if (u16_at(arg) >= state_.self_words) return std::nullopt;
        return Effect{1, 0};
      case PK_OP_SETSELFDYN: {
        uint32_t dyn;
        std::memcpy(&dyn, arg + 4, 4);
        if (u16_at(arg) >= state_.self_words || u16_at(arg + 2) >= state_.self_words ||
            uint64_t{dyn} + sizeof(pk_ddyn) / 8 > state_.global_words)
          return std::nullopt;
        return Effect{1, 0};
      }
      case PK_OP_GLOBAL:
        if (u16_at(arg) >= state_.global_words) return std::nullopt;
        return Effect{0, 1};
      case PK_OP_SETGLOBAL: case PK_OP_ADDGLOBAL:
        if (u16_at(arg) >= state_.global_words) return std::nullopt;
        return Effect{1, 0};
      case PK_OP_DUP: return Effect{1, 2};
      case PK_OP_POP: case PK_OP_JZ: case PK_OP_OVERRIDE: case PK_OP_RAISE: return Effect{1, 0};
      case PK_OP_NEG: case PK_OP_NOT: case PK_OP_LNOT: case PK_OP_EXT: return Effect{1, 1};
      case PK_OP_COMM: return Effect{0, 2};
      case PK_OP_COMMEQ: return Effect{0, 1};
      case PK_OP_AGG: {
        const uint32_t index = u16_at(arg);
        if (index >= state_.ndaggs || !state_.daggs) return std::nullopt;
        return Effect{2u + state_.daggs[index].key_words, 0};
      }
      case PK_OP_END: case PK_OP_JMP: case PK_OP_ACT: return Effect{0, 0};
      // Strings: the part's or the globals' words they use lie in the state.
      case PK_OP_SVAR: case PK_OP_SREAD: case PK_OP_SSTORE: case PK_OP_SJOIN: case PK_OP_SUBSTR: {
        const uint32_t max = op == PK_OP_SVAR ? 0 : u16_at(arg + 2);
        if (u16_at(arg) + max / 8u + 1u > state_.self_words) return std::nullopt;
        if (op == PK_OP_SUBSTR && arg[4] > 1) return std::nullopt;
        return op == PK_OP_SVAR     ? Effect{0, 1}
               : op == PK_OP_SSTORE ? Effect{1, 0}
               : op == PK_OP_SREAD  ? Effect{1, 1}
               : op == PK_OP_SJOIN  ? Effect{2, 1}
                                    : Effect{2u + arg[4], 1};
      }
      case PK_OP_SGLOBAL: case PK_OP_SSETGLOBAL: {
        uint32_t word;
        std::memcpy(&word, arg, 4);
        if (uint64_t{word} + u16_at(arg + 4) / 8u + 1u > state_.global_words) return std::nullopt;
        return op == PK_OP_SGLOBAL ? Effect{0, 1} : Effect{1, 0};
      }
      case PK_OP_SLIT: case PK_OP_SCOMM: return Effect{0, 1};
      case PK_OP_SCMP: return Effect{2, 1};
      case PK_OP_SLEN: case PK_OP_STRCMP: return Effect{1, 1};
      case PK_OP_SSTOREDYN: {
        uint32_t dyn;
        std::memcpy(&dyn, arg + 6, 4);
        if (u16_at(arg) + u16_at(arg + 2) / 8u + 1u > state_.self_words || u16_at(arg + 4) >= state_.self_words ||
            uint64_t{dyn} + sizeof(pk_ddyn) / 8 > state_.global_words)
          return std::nullopt;
        return Effect{1, 0};
      }
      case PK_OP_SKEY:
        if (u16_at(arg) > PK_DVM_STACK) return std::nullopt;
        return Effect{1, u16_at(arg)};
      case PK_OP_STK: return Effect{0, 1};
      case PK_OP_LOAD: return Effect{1, 1};
      case PK_OP_DIVZ: case PK_OP_MODZ: return Effect{2, 1};
      case PK_OP_OUT: case PK_OP_OUTS: return Effect{arg[2], 0};
      case PK_OP_USTACK: return Effect{0, 1};
      case PK_OP_EXIT: return Effect{0, 0};
      case PK_OP_AGET: case PK_OP_ASET: case PK_OP_AADD: case PK_OP_ASGET: case PK_OP_ASSET: {
        // The array's key words, from its header among the global words
        // (written before any code is compiled: AgentState::init_globals).
        uint32_t table;
        std::memcpy(&table, arg, 4);
        if (!state_.globals || uint64_t{table} + sizeof(pk_darray) / 8 > state_.global_words) return std::nullopt;
        pk_darray a;
        std::memcpy(&a, state_.globals + table, sizeof a);
        const bool strings = op == PK_OP_ASGET || op == PK_OP_ASSET;
        if (a.key_words > PK_DVM_STACK || (a.value_words != 0) != strings) return std::nullopt;
        const uint32_t kw = static_cast<uint32_t>(a.key_words);
        return op == PK_OP_AGET || op == PK_OP_ASGET ? Effect{kw, 1} : Effect{kw + 1, 0};
      }
      default: return Effect{2, 1};  // binary
    }
  }

  static ax::Mem slot(uint32_t i) { return ax::qword_ptr(ax::rsp, static_cast<int32_t>(8 * i)); }

  void call(uint64_t helper) {
    a_.mov(ax::rax, asmjit::imm(helper));
    a_.call(ax::rax);
  }

  // rax = the thread's slot (h->t), or to fault.
  void thread(asmjit::Label fault) {
    asmjit::Label have = a_.newLabel();
    a_.mov(ax::rax, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, t)));
    a_.test(ax::rax, ax::rax);
    a_.jnz(have);
    a_.mov(ax::rdi, ax::rbx);
    call(helpers_.thread);
    a_.test(ax::rax, ax::rax);
    a_.jz(fault);
    a_.bind(have);
  }

  // r12 = the thread's part, or to fault.
  void part(asmjit::Label fault) {
    asmjit::Label have = a_.newLabel();
    a_.test(ax::r12, ax::r12);
    a_.jnz(have);
    a_.mov(ax::rdi, ax::rbx);
    call(helpers_.part);
    a_.test(ax::rax, ax::rax);
    a_.jz(fault);
    a_.mov(ax::r12, ax::rax);
    a_.bind(have);
  }

  // count(), sum() and quantize() of an aggregation without keys, in
  // place, once its one entry exists: dvm.h pk_dvm_entry puts it where
  // the hash of no words (its seed) falls, so its address is known now;
  // the value and increment are stack words d-2, d-1. The helper call
  // that follows (to `done` when taken) creates the entry at the first
  // hit and serves every other aggregation.
  void keyless_aggregate(const pk_dagg& a, uint32_t d, asmjit::Label done) {
    if (a.key_words != 0 || !a.capacity) return;
    if (a.func != PK_DAGG_COUNT && a.func != PK_DAGG_SUM && a.func != PK_DAGG_QUANTIZE) return;
    const uint64_t at = uint64_t{a.offset} + sizeof(pk_dagg_table) +
                        (0x9e3779b97f4a7c15ull & (a.capacity - 1)) * (1u + a.value_words) * 8;
    if (at > 0x7fff0000) return;
    asmjit::Label slow = a_.newLabel();
    a_.lea(ax::rax, ax::qword_ptr(ax::r12, static_cast<int32_t>(at)));
    a_.cmp(ax::qword_ptr(ax::rax), 0);
    a_.je(slow);
    if (a.func == PK_DAGG_COUNT) {
      a_.inc(ax::qword_ptr(ax::rax, 8));
    } else if (a.func == PK_DAGG_SUM) {
      a_.mov(ax::rcx, slot(d - 2));
      a_.add(ax::qword_ptr(ax::rax, 8), ax::rcx);
    } else {  // pk_dvm_quantize's bucket into rdx
      asmjit::Label positive = a_.newLabel(), negative = a_.newLabel(), have = a_.newLabel(),
                    lowest = a_.newLabel();
      a_.mov(ax::rcx, slot(d - 2));
      a_.test(ax::rcx, ax::rcx);
      a_.jg(positive);
      a_.jl(negative);
      a_.mov(ax::edx, 63);
      a_.jmp(have);
      a_.bind(positive);
      a_.bsr(ax::rdx, ax::rcx);
      a_.add(ax::edx, 64);
      a_.jmp(have);
      a_.bind(negative);
      a_.neg(ax::rcx);
      a_.bsr(ax::rcx, ax::rcx);
      a_.cmp(ax::ecx, 62);
      a_.jae(lowest);
      a_.mov(ax::edx, 62);
      a_.sub(ax::edx, ax::ecx);
      a_.jmp(have);
      a_.bind(lowest);
      a_.xor_(ax::edx, ax::edx);
      a_.bind(have);
      a_.mov(ax::rcx, slot(d - 1));
      a_.add(ax::qword_ptr(ax::rax, ax::rdx, 3, 8), ax::rcx);
    }
    a_.jmp(done);
    a_.bind(slow);
  }

  // rax = the hit's timestamp. The first read is dvm.h pk_dvm_timestamp
  // in place (rdtsc, then ns_base + ((tsc - tsc_base) * tsc_mult >>
  // tsc_shift), the 128-bit product's bits by shrd), with no call: the
  // helper only for a TSC before tsc_base, a shift above 63, which shrd
  // cannot do, or a hit whose clock is not the agent's TSC (h->tsc). The
  // result goes to h->now as the helper leaves it.
  void timestamp() {
    asmjit::Label have = a_.newLabel(), slow = a_.newLabel();
    a_.mov(ax::rax, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, now)));
    a_.test(ax::rax, ax::rax);
    a_.jnz(have);
    if (!helpers_.tsc) {
      a_.mov(ax::rdi, ax::rbx);
      call(helpers_.timestamp);
      a_.bind(have);
      return;
    }
    a_.mov(ax::rax, asmjit::imm(helpers_.tsc));
    a_.cmp(ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, tsc)), ax::rax);
    a_.jne(slow);  // another clock (a test's): its callback, through the helper
    a_.mov(ax::rsi, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, c)));
    a_.mov(ax::ecx, ax::dword_ptr(ax::rsi, offsetof(pk_control, tsc_shift)));
    a_.cmp(ax::ecx, 63);
    a_.ja(slow);
    a_.rdtsc();
    a_.shl(ax::rdx, 32);
    a_.or_(ax::rax, ax::rdx);
    a_.sub(ax::rax, ax::qword_ptr(ax::rsi, offsetof(pk_control, tsc_base)));
    a_.js(slow);  // before tsc_base: the helper (it reads the TSC again)
    a_.mul(ax::qword_ptr(ax::rsi, offsetof(pk_control, tsc_mult)));
    a_.shrd(ax::rax, ax::rdx, ax::cl);
    a_.add(ax::rax, ax::qword_ptr(ax::rsi, offsetof(pk_control, ns_base)));
    a_.mov(ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, now)), ax::rax);
    a_.jmp(have);
    a_.bind(slow);
    a_.mov(ax::rdi, ax::rbx);
    call(helpers_.timestamp);
    a_.bind(have);
  }

  // rax = the global word's address.
  void global(uint32_t index) {
    a_.mov(ax::rax, asmjit::imm(state_.globals_offset + 8ull * index));
    a_.add(ax::rax, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, parts)));
  }

  void reg(uint32_t r) {  // dvm.h pk_dvm_reg
    if (r < 15) a_.mov(ax::rax, ax::qword_ptr(ax::r14, static_cast<int32_t>(8 * r)));
    else if (r == 16) a_.mov(ax::rax, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, rip)));
    else if (r == 18) a_.mov(ax::rax, ax::qword_ptr(ax::r14, 8 * 15));
    else if (r == 19) a_.mov(ax::rax, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, rsp)));
    else if (r == 21) a_.mov(ax::rax, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, fsbase)));
    else if (r == 15) a_.mov(ax::rax, asmjit::imm(-1));
    else if (r == 17) a_.mov(ax::eax, asmjit::imm(0x33));
    else if (r == 20) a_.mov(ax::eax, asmjit::imm(0x2b));
    else a_.xor_(ax::eax, ax::eax);
  }

  template <typename LabelOf>
  uint32_t op_(uint8_t op, const uint8_t* arg, uint32_t d, uint32_t next, LabelOf& label, asmjit::Label fault) {
    switch (op) {
      case PK_OP_END: a_.jmp(epilogue_); return d;
      case PK_OP_ACT: action_ = u16_at(arg); return d;  // the action a string op's bad address is in
      case PK_OP_SVAR:
        part(fault);
        a_.lea(ax::rax, ax::qword_ptr(ax::r12, static_cast<int32_t>(8 * u16_at(arg))));
        a_.mov(slot(d), ax::rax);
        return d + 1;
      case PK_OP_SGLOBAL: {
        uint32_t word;
        std::memcpy(&word, arg, 4);
        global(word);
        a_.mov(slot(d), ax::rax);
        return d + 1;
      }
      case PK_OP_SLIT:  // the literal's bytes, in the code where it runs
        a_.mov(ax::rax, asmjit::imm(code_at_ + static_cast<uint64_t>(arg - code_.data()) + 2));
        a_.mov(slot(d), ax::rax);
        return d + 1;
      case PK_OP_SCOMM:  // the thread's name, NUL-terminated (else the interpreter's fault)
        thread(fault);
        a_.cmp(ax::byte_ptr(ax::rax, offsetof(pk_thread, comm) + 15), 0);
        a_.jne(fault);
        a_.add(ax::rax, asmjit::imm(offsetof(pk_thread, comm)));
        a_.mov(slot(d), ax::rax);
        return d + 1;
      case PK_OP_EXIT: {  // dvm.h pk_dvm_op's EXIT: the process's clauses stop
        a_.mov(ax::rax, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, c)));
        a_.mov(ax::dword_ptr(ax::rax, offsetof(pk_control, dexited)), 1);
        return d;
      }
      case PK_OP_SREAD: case PK_OP_SSTORE: case PK_OP_SSETGLOBAL: case PK_OP_SCMP: case PK_OP_SLEN:
      case PK_OP_SKEY: case PK_OP_SJOIN: case PK_OP_SUBSTR: case PK_OP_STRCMP: case PK_OP_SSTOREDYN:
      case PK_OP_STK: case PK_OP_OUT: case PK_OP_OUTS: case PK_OP_LOAD: case PK_OP_DIVZ: case PK_OP_MODZ:
      case PK_OP_AGET: case PK_OP_ASET: case PK_OP_AADD: case PK_OP_ASGET: case PK_OP_ASSET: case PK_OP_USTACK: {
        // The agent runs the interpreter's code for the op on the frame's
        // stack words: 0 done, 2 a DTrace fault it reported (the clause's
        // output dropped, an ERROR item; the clause ends), 4 a dynamic
        // variable drop (the clause's output dropped; it ends, no error),
        // else a fault (the clause is abandoned).
        const uint32_t pc = static_cast<uint32_t>(arg - code_.data()) - 1;
        asmjit::Label ok = a_.newLabel();
        a_.mov(ax::rdi, ax::rbx);
        a_.mov(ax::rsi, asmjit::imm(code_at_ + pc));
        a_.mov(ax::edx, asmjit::imm(static_cast<uint32_t>(code_.size()) - pc));
        a_.mov(ax::rcx, ax::rsp);
        a_.mov(ax::r8d, asmjit::imm(d));
        a_.mov(ax::r9d, asmjit::imm(action_));
        call(helpers_.op);
        a_.test(ax::eax, ax::eax);
        a_.jz(ok);
        a_.cmp(ax::eax, asmjit::imm(PK_DVM_SBADADDR));
        a_.je(label(end_));
        a_.cmp(ax::eax, asmjit::imm(PK_DVM_SDROP));
        a_.je(label(end_));
        a_.jmp(fault);
        a_.bind(ok);
        const Effect e = *effect(op, arg);
        return d - e.need + e.push;
      }
      case PK_OP_IMM: {
        const uint64_t v = u64_at(arg);
        if (static_cast<int64_t>(v) >= INT32_MIN && static_cast<int64_t>(v) <= INT32_MAX) {
          a_.mov(slot(d), asmjit::imm(static_cast<int32_t>(v)));
        } else {
          a_.mov(ax::rax, asmjit::imm(v));
          a_.mov(slot(d), ax::rax);
        }
        return d + 1;
      }
      case PK_OP_REG: reg(arg[0]); a_.mov(slot(d), ax::rax); return d + 1;
      case PK_OP_VAR: {
        const uint8_t which = arg[0];
        if (which == PK_DVAR_TIMESTAMP) {
          timestamp();
        } else if (which == PK_DVAR_WALLTIMESTAMP) {
          timestamp();
          a_.mov(ax::rcx, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, c)));
          a_.add(ax::rax, ax::qword_ptr(ax::rcx, offsetof(pk_control, wall_offset)));
        } else if (which == PK_DVAR_CPU) {
          a_.mov(ax::rdi, ax::rbx);
          call(helpers_.cpu);
        } else if (which == PK_DVAR_RETOFF) {
          a_.mov(ax::rax, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, ret_offset)));
        } else {
          thread(fault);
          a_.mov(ax::eax, ax::dword_ptr(ax::rax, which == PK_DVAR_PID ? offsetof(pk_thread, pid)
                                                                        : offsetof(pk_thread, tid)));
        }
        a_.mov(slot(d), ax::rax);
        return d + 1;
      }
      case PK_OP_SELF:
        part(fault);
        a_.mov(ax::rax, ax::qword_ptr(ax::r12, static_cast<int32_t>(8 * u16_at(arg))));
        a_.mov(slot(d), ax::rax);
        return d + 1;
      case PK_OP_SETSELF:
        part(fault);
        a_.mov(ax::rax, slot(d - 1));
        a_.mov(ax::qword_ptr(ax::r12, static_cast<int32_t>(8 * u16_at(arg))), ax::rax);
        return d - 1;
      case PK_OP_SETSELFDYN: {
        // dvm.h's SETSELFDYN: the variable's first store charges
        // self_bytes to the pk_ddyn; no room: a drop, and no store. 0
        // deletes it: its flag cleared, its charge given back.
        uint32_t dyn;
        std::memcpy(&dyn, arg + 4, 4);
        const auto flag = ax::qword_ptr(ax::r12, static_cast<int32_t>(8 * u16_at(arg + 2)));
        const auto var = ax::qword_ptr(ax::r12, static_cast<int32_t>(8 * u16_at(arg)));
        asmjit::Label store = a_.newLabel(), fits = a_.newLabel(), drop = a_.newLabel(), done = a_.newLabel();
        asmjit::Label nonzero = a_.newLabel(), cleared = a_.newLabel();
        part(fault);
        a_.cmp(slot(d - 1), 0);
        a_.jne(nonzero);
        a_.cmp(flag, 0);
        a_.je(cleared);
        global(dyn);  // rax = the pk_ddyn
        a_.mov(ax::rcx, ax::qword_ptr(ax::rax, offsetof(pk_ddyn, self_bytes)));
        a_.lock().sub(ax::qword_ptr(ax::rax, offsetof(pk_ddyn, used)), ax::rcx);
        a_.mov(flag, 0);
        a_.bind(cleared);
        a_.mov(var, 0);
        a_.jmp(done);
        a_.bind(nonzero);
        a_.cmp(flag, 0);
        a_.jne(store);
        global(dyn);  // rax = the pk_ddyn
        a_.mov(ax::rcx, ax::qword_ptr(ax::rax, offsetof(pk_ddyn, self_bytes)));
        a_.mov(ax::rdx, ax::rcx);
        a_.lock().xadd(ax::qword_ptr(ax::rax, offsetof(pk_ddyn, used)), ax::rdx);
        a_.add(ax::rdx, ax::rcx);  // what is used with this thread's
        a_.mov(ax::r8, ax::qword_ptr(ax::rax, offsetof(pk_ddyn, limit)));
        a_.test(ax::r8, ax::r8);
        a_.jz(fits);
        a_.cmp(ax::rcx, ax::r8);
        a_.ja(drop);
        a_.cmp(ax::rdx, ax::r8);
        a_.ja(drop);
        a_.bind(fits);
        a_.mov(flag, 1);
        a_.bind(store);
        a_.mov(ax::rax, slot(d - 1));
        a_.mov(ax::qword_ptr(ax::r12, static_cast<int32_t>(8 * u16_at(arg))), ax::rax);
        a_.jmp(done);
        a_.bind(drop);  // a drop ends the clause and its output (dvm.h's drop), no error
        a_.lock().sub(ax::qword_ptr(ax::rax, offsetof(pk_ddyn, used)), ax::rcx);
        a_.lock().add(ax::qword_ptr(ax::rax, offsetof(pk_ddyn, drops)), 1);
        if (calls_) {
          a_.mov(ax::eax, ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, clause_out)));
          a_.mov(ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, out_len)), ax::eax);
          a_.mov(ax::eax, ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, clause_items)));
          a_.mov(ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, out_items)), ax::eax);
        }
        a_.jmp(label(end_));
        a_.bind(done);
        return d - 1;
      }
      case PK_OP_GLOBAL:
        global(u16_at(arg));
        a_.mov(ax::rax, ax::qword_ptr(ax::rax));
        a_.mov(slot(d), ax::rax);
        return d + 1;
      case PK_OP_SETGLOBAL:
      case PK_OP_ADDGLOBAL:
        global(u16_at(arg));
        a_.mov(ax::rcx, slot(d - 1));
        if (op == PK_OP_SETGLOBAL) a_.mov(ax::qword_ptr(ax::rax), ax::rcx);
        else a_.lock().add(ax::qword_ptr(ax::rax), ax::rcx);
        return d - 1;
      case PK_OP_DUP: a_.mov(ax::rax, slot(d - 1)); a_.mov(slot(d), ax::rax); return d + 1;
      case PK_OP_POP: return d - 1;
      case PK_OP_NEG: a_.neg(slot(d - 1)); return d;
      case PK_OP_NOT: a_.not_(slot(d - 1)); return d;
      case PK_OP_LNOT:
        a_.xor_(ax::eax, ax::eax);
        a_.cmp(slot(d - 1), 0);
        a_.sete(ax::al);
        a_.mov(slot(d - 1), ax::rax);
        return d;
      case PK_OP_EXT: {
        const int32_t at = static_cast<int32_t>(8 * (d - 1));
        const bool sgn = arg[1] != 0;
        switch (arg[0]) {  // dvm.h pk_dvm_ext: other widths keep the word
          case 1:
            if (sgn) a_.movsx(ax::rax, ax::byte_ptr(ax::rsp, at));
            else a_.movzx(ax::eax, ax::byte_ptr(ax::rsp, at));
            break;
          case 2:
            if (sgn) a_.movsx(ax::rax, ax::word_ptr(ax::rsp, at));
            else a_.movzx(ax::eax, ax::word_ptr(ax::rsp, at));
            break;
          case 4:
            if (sgn) a_.movsxd(ax::rax, ax::dword_ptr(ax::rsp, at));
            else a_.mov(ax::eax, ax::dword_ptr(ax::rsp, at));
            break;
          default: return d;
        }
        a_.mov(slot(d - 1), ax::rax);
        return d;
      }
      case PK_OP_JZ:
        a_.cmp(slot(d - 1), 0);
        a_.je(label(next + u16_at(arg)));
        return d - 1;
      case PK_OP_JMP: a_.jmp(label(next + u16_at(arg))); return d;
      case PK_OP_AGG: {
        const uint32_t index = u16_at(arg), words = 2u + state_.daggs[index].key_words;
        part(fault);
        asmjit::Label done = a_.newLabel();
        keyless_aggregate(state_.daggs[index], d, done);
        a_.mov(ax::rdi, ax::rbx);
        a_.mov(ax::rsi, ax::r12);
        a_.mov(ax::edx, asmjit::imm(index));
        a_.lea(ax::rcx, slot(d - words));
        call(helpers_.aggregate);
        a_.bind(done);
        return d - words;
      }
      case PK_OP_COMM:
        thread(fault);
        a_.mov(ax::rcx, ax::qword_ptr(ax::rax, offsetof(pk_thread, comm)));
        a_.mov(slot(d), ax::rcx);
        a_.mov(ax::rcx, ax::qword_ptr(ax::rax, offsetof(pk_thread, comm) + 8));
        a_.mov(slot(d + 1), ax::rcx);
        return d + 2;
      case PK_OP_COMMEQ: {
        thread(fault);
        asmjit::Label no = a_.newLabel(), done = a_.newLabel();
        a_.mov(ax::rcx, asmjit::imm(u64_at(arg)));
        a_.cmp(ax::qword_ptr(ax::rax, offsetof(pk_thread, comm)), ax::rcx);
        a_.jne(no);
        a_.mov(ax::rcx, asmjit::imm(u64_at(arg + 8)));
        a_.cmp(ax::qword_ptr(ax::rax, offsetof(pk_thread, comm) + 8), ax::rcx);
        a_.jne(no);
        a_.mov(slot(d), 1);
        a_.jmp(done);
        a_.bind(no);
        a_.mov(slot(d), 0);
        a_.bind(done);
        return d + 1;
      }
      case PK_OP_OVERRIDE:
        a_.mov(ax::rax, slot(d - 1));
        a_.mov(ax::dword_ptr(ax::rbx, offsetof(pk_dvm_hit, overridden)), 1);
        a_.mov(ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, override_value)), ax::rax);
        return d - 1;
      case PK_OP_RAISE: {
        asmjit::Label skip = a_.newLabel();
        a_.mov(ax::rax, ax::qword_ptr(ax::rbx, offsetof(pk_dvm_hit, raise)));
        a_.test(ax::rax, ax::rax);
        a_.jz(skip);
        a_.mov(ax::rdi, ax::rbx);
        a_.mov(ax::rsi, slot(d - 1));
        a_.call(ax::rax);
        a_.bind(skip);
        return d - 1;
      }
      default: break;
    }
    // Binary ops: a = slot(d - 2), b = slot(d - 1), the result in a's slot.
    const ax::Mem sa = slot(d - 2), sb = slot(d - 1);
    auto compare = [&](ax::CondCode cc) {
      a_.mov(ax::rcx, sa);
      a_.xor_(ax::eax, ax::eax);
      a_.cmp(ax::rcx, sb);
      a_.set(cc, ax::al);
      a_.mov(sa, ax::rax);
    };
    switch (op) {
      case PK_OP_ADD: a_.mov(ax::rax, sa); a_.add(ax::rax, sb); a_.mov(sa, ax::rax); break;
      case PK_OP_SUB: a_.mov(ax::rax, sa); a_.sub(ax::rax, sb); a_.mov(sa, ax::rax); break;
      case PK_OP_MUL: a_.mov(ax::rax, sa); a_.imul(ax::rax, sb); a_.mov(sa, ax::rax); break;
      case PK_OP_AND: a_.mov(ax::rax, sa); a_.and_(ax::rax, sb); a_.mov(sa, ax::rax); break;
      case PK_OP_OR: a_.mov(ax::rax, sa); a_.or_(ax::rax, sb); a_.mov(sa, ax::rax); break;
      case PK_OP_XOR: a_.mov(ax::rax, sa); a_.xor_(ax::rax, sb); a_.mov(sa, ax::rax); break;
      case PK_OP_SHL: case PK_OP_SAR: case PK_OP_SHR:  // the count masked to 6 bits by the CPU, as D's (b & 63)
        a_.mov(ax::rcx, sb);
        a_.mov(ax::rax, sa);
        if (op == PK_OP_SHL) a_.shl(ax::rax, ax::cl);
        else if (op == PK_OP_SAR) a_.sar(ax::rax, ax::cl);
        else a_.shr(ax::rax, ax::cl);
        a_.mov(sa, ax::rax);
        break;
      case PK_OP_SDIV: case PK_OP_SMOD: case PK_OP_UDIV: case PK_OP_UMOD: {
        // dvm.h: a zero divisor abandons the clause; -1 is negation (or
        // 0), never idiv's overflow trap.
        asmjit::Label general = a_.newLabel(), done = a_.newLabel();
        const bool sgn = op == PK_OP_SDIV || op == PK_OP_SMOD, quot = op == PK_OP_SDIV || op == PK_OP_UDIV;
        a_.mov(ax::rcx, sb);
        a_.test(ax::rcx, ax::rcx);
        a_.jz(fault);
        a_.mov(ax::rax, sa);
        if (sgn) {
          a_.cmp(ax::rcx, -1);
          a_.jne(general);
          if (quot) a_.neg(ax::rax);
          else a_.xor_(ax::eax, ax::eax);
          a_.jmp(done);
          a_.bind(general);
          a_.cqo(ax::rdx, ax::rax);
          a_.idiv(ax::rdx, ax::rax, ax::rcx);
        } else {
          a_.xor_(ax::edx, ax::edx);
          a_.div(ax::rdx, ax::rax, ax::rcx);
        }
        if (!quot) a_.mov(ax::rax, ax::rdx);
        a_.bind(done);
        a_.mov(sa, ax::rax);
        break;
      }
      case PK_OP_EQ: compare(ax::CondCode::kE); break;
      case PK_OP_NE: compare(ax::CondCode::kNE); break;
      case PK_OP_SLT: compare(ax::CondCode::kL); break;
      case PK_OP_SLE: compare(ax::CondCode::kLE); break;
      case PK_OP_SGT: compare(ax::CondCode::kG); break;
      case PK_OP_SGE: compare(ax::CondCode::kGE); break;
      case PK_OP_ULT: compare(ax::CondCode::kB); break;
      case PK_OP_ULE: compare(ax::CondCode::kBE); break;
      case PK_OP_UGT: compare(ax::CondCode::kA); break;
      case PK_OP_UGE: compare(ax::CondCode::kAE); break;
      default: break;  // check() let only known ops through
    }
    return d - 1;
  }

  const std::vector<uint8_t>& code_;
  uint64_t code_at_;
  const DvmNativeHelpers& helpers_;
  const DvmNativeState& state_;
  std::map<uint32_t, uint32_t> depth_;  // jump targets' stack depths (check, then emit)
  uint32_t end_ = 0;                    // the end of what emit() emits (a reported bad address goes there)
  bool calls_ = false;                  // what check() checked calls the agent (pk_agent_dvm_op)
  uint32_t action_ = 0;                 // the last ACT's action, in code order

public:
  asmjit::CodeHolder holder_;
  ax::Assembler a_{init(holder_)};
  asmjit::Label epilogue_;

private:
  static asmjit::CodeHolder* init(asmjit::CodeHolder& h) {
    h.init(asmjit::Environment(asmjit::Arch::kX64));
    return &h;
  }
};

}  // namespace

std::string dvm_op_name(uint8_t op) {
  static const char* const kNames[] = {
      "END", "IMM", "REG", "STK", "VAR", "SELF", "SETSELF", "DUP", "POP", "ADD", "SUB", "MUL", "SDIV", "SMOD",
      "UDIV", "UMOD", "AND", "OR", "XOR", "SHL", "SAR", "SHR", "EQ", "NE", "SLT", "SLE", "SGT", "SGE", "ULT",
      "ULE", "UGT", "UGE", "NEG", "NOT", "LNOT", "EXT", "JZ", "JMP", "CLAUSE", "AGG", "COMM", "COMMEQ", "OUT",
      "ACT", "DIVZ", "MODZ", "OUTS", "LOAD", "STRCMP", "OVERRIDE", "RAISE", "GLOBAL", "SETGLOBAL", "ADDGLOBAL",
      "AGET", "ASET", "AADD", "SREAD", "SVAR", "SSTORE", "SLIT", "SCOMM", "SCMP", "SLEN", "SKEY", "SJOIN",
      "SUBSTR", "SETSELFDYN", "SGLOBAL", "SSETGLOBAL", "ASGET", "ASSET", "SSTOREDYN", "USTACK", "EXIT"};
  static_assert(std::size(kNames) == PK_OP_COUNT_, "a name for every op");
  if (op < std::size(kNames)) return kNames[op];
  return "op " + std::to_string(op);
}

Result<DvmNative> compile_native(const std::vector<uint8_t>& code, uint64_t code_at, const DvmNativeHelpers& helpers,
                                 const DvmNativeState& state) {
  if (!helpers.thread || !helpers.part || !helpers.timestamp || !helpers.cpu || !helpers.aggregate ||
      !helpers.interpret)
    return Error("the agent has no helpers for native code", ErrorKind::unsupported);
  Compiler c(code, code_at, helpers, state);
  DvmNative out;
  c.prologue();
  // The prefix (this-> variables zeroed) up to the first clause.
  uint32_t pc = 0;
  while (pc < code.size() && code[pc] != PK_OP_CLAUSE && code[pc] != PK_OP_END) {
    auto n = operand_bytes(code[pc], code.data() + pc + 1, code.size() - pc - 1);
    if (!n) return Error("the code before the first clause uses " + dvm_op_name(code[pc]), ErrorKind::unsupported);
    pc += 1 + *n;
  }
  if (pc > code.size()) return Error("the code ends inside an op", ErrorKind::unsupported);
  if (pc) {
    if (auto why = c.check(0, pc); !why.empty()) return Error("the code before the first clause: " + why, ErrorKind::unsupported);
    c.emit(0, pc, false);
  }
  uint32_t index = 0;
  while (pc < code.size() && code[pc] == PK_OP_CLAUSE) {
    ++index;
    if (pc + 3 > code.size()) return Error("a clause header past the code's end", ErrorKind::unsupported);
    const uint32_t end = pc + 3 + u16_at(code.data() + pc + 1);
    if (end > code.size()) return Error("a clause past the code's end", ErrorKind::unsupported);
    if (auto why = c.check(pc + 3, end); why.empty()) {
      c.emit(pc + 3, end, true);
      ++out.native_clauses;
    } else {
      c.interpret(code_at + pc, end - pc);
      out.interpreted.push_back("clause " + std::to_string(index) + " (" + why + ")");
    }
    pc = end;
  }
  if (pc >= code.size() || code[pc] != PK_OP_END) return Error("the code does not end after its clauses", ErrorKind::unsupported);
  if (!out.native_clauses) {
    std::string why;
    for (const auto& s : out.interpreted) why += (why.empty() ? "" : ", ") + s;
    return Error("no clause compiles: " + why, ErrorKind::unsupported);
  }
  auto bytes = c.finish();
  if (!bytes) return bytes.error();
  out.code = std::move(*bytes);
  return out;
}

std::string describe(const DvmNative& native) {
  if (native.interpreted.empty()) return "native code";
  std::string s = "native code; interpreted: ";
  for (size_t i = 0; i < native.interpreted.size(); ++i) s += (i ? ", " : "") + native.interpreted[i];
  return s;
}

}  // namespace probekit::engine
