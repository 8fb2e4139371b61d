// d/agent_codegen.cpp — see agent_codegen.h.
#include "d/agent_codegen.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "d/builtins.h"
#include "d/runtime.h"
#include "util/strings.h"

namespace probekit::d {

namespace {

// arg0..arg5 are kEntryArgWord's registers (builtins.h); arg6..arg9 the
// stack words after the return address (d_probes.cpp fill_entry_args
// reads the same).
constexpr int kRegWords = 22;  // user_regs_struct words dvm.h can read
constexpr int kReturnValueWord = 10;  // rax: arg1 and retval at a return

// What a clause touches, for the ownership fixpoint.
struct Touches {
  std::set<int> aggs;
  std::set<int> selfs;
  std::set<int> arrays_changed;  // associative arrays the clause stores into
  std::set<int> arrays;          // ... or reads
};

class Gen {
public:
  // ret: the code runs at a return (a dry run's choice; a probe's own flow otherwise).
  Gen(AgentPlan& plan, const Symbols& symbols, const ProbeEntry* probe, bool dry, bool ret = false)
      : plan_(plan), symbols_(symbols), probe_(probe), dry_(dry),
        ret_(probe ? probe->flow == ProbeEntry::Flow::ret : ret) {}

  std::vector<uint8_t> code;
  std::string why;
  bool guard_exit = false;  // an earlier clause of the probe may call exit()

  // One clause: CLAUSE len, [predicate, JZ end], statements.
  bool clause(Clause& c, uint32_t index) {
    if (c.body.empty()) return refuse("a clause without statements prints the probe (the tracer does)");
    clause_ = index;
    action_ = 0;
    scratch_ = 0;
    const size_t at = code.size();
    op(PK_OP_CLAUSE);
    u16(0);
    // After an earlier clause of this firing called exit(), the clause does
    // not run (Runtime::fire's rule, dtrace-utils' activity check).
    // The word is laid out when the plan generated the exit() (never here:
    // the part's layout is fixed by then).
    if (!plan_.this_word.count(kExitKey)) guard_exit = false;
    size_t exited = 0;
    if (guard_exit) {
      op(PK_OP_SELF);
      u16(exit_word());
      op(PK_OP_LNOT);
      op(PK_OP_JZ);
      exited = code.size();
      u16(0);
    }
    size_t jz = 0;
    if (c.predicate) {
      if (!expr(*c.predicate)) return false;
      op(PK_OP_JZ);
      jz = code.size();
      u16(0);
    }
    for (auto& s : c.body) {
      ++action_;
      if (!statement(*s)) return false;
    }
    if (c.predicate && !patch(jz)) return false;
    if (guard_exit && !patch(exited)) return false;
    const size_t len = code.size() - (at + 3);
    if (len > 0xffff) return refuse("the clause's code is too long");
    code[at + 1] = static_cast<uint8_t>(len);
    code[at + 2] = static_cast<uint8_t>(len >> 8);
    return true;
  }

private:
  bool refuse(std::string w) {
    if (why.empty()) why = std::move(w);
    return false;
  }
  void op(uint8_t o) { code.push_back(o); }
  void u16(uint32_t v) {
    code.push_back(static_cast<uint8_t>(v));
    code.push_back(static_cast<uint8_t>(v >> 8));
  }
  void imm(uint64_t v) {
    op(PK_OP_IMM);
    for (int i = 0; i < 8; ++i) code.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  // A forward jump's operand at `at` made to land here.
  bool patch(size_t at) {
    const size_t off = code.size() - (at + 2);
    if (off > 0xffff) return refuse("the clause's code is too long");
    code[at] = static_cast<uint8_t>(off);
    code[at + 1] = static_cast<uint8_t>(off >> 8);
    return true;
  }
  bool push(int n = 1) {
    depth_ += n;
    if (depth_ > PK_DVM_STACK) return refuse("the expression is too deep for the agent's stack");
    return true;
  }
  void pop(int n = 1) { depth_ -= n; }
  void ext(const Type& t) {
    if (t.is_scalar() && t.size < 8) {
      op(PK_OP_EXT);
      code.push_back(t.size);
      code.push_back(t.is_signed && t.kind == Type::Kind::integer ? 1 : 0);
    }
  }

  // The id of the statement being generated (AgentPlan::actions).
  uint32_t action_id() {
    auto& acts = plan_.actions;
    for (size_t i = 1; i < acts.size(); ++i)
      if (acts[i].clause == clause_ && acts[i].action == action_) return static_cast<uint32_t>(i);
    acts.push_back(AgentPlan::Action{clause_, action_});
    return static_cast<uint32_t>(acts.size() - 1);
  }
  // Faults from here are in the statement being generated (before each
  // faulting operation: a branch may skip an earlier one).
  bool in_action() {
    const uint32_t id = action_id();
    if (id > 0xffff) return refuse("too many actions for the agent");
    op(PK_OP_ACT);
    u16(id);
    return true;
  }

  // printf, trace, printa, exit: the values, then OUT (the tracer acts).
  bool output(Expr& s) {
    size_t from = 0;
    switch (static_cast<Fn>(s.id)) {
      case Fn::printf: from = 1; break;
      case Fn::trace:
      case Fn::exit: from = 0; break;
      case Fn::printa: from = s.kids.size(); break;  // names aggregations only
      default: return refuse(s.text + "() runs in the tracer");
    }
    int n = 0;
    std::vector<uint32_t> kinds;  // OUTS: 0 a word, else a string of at most that many bytes
    bool strings = false;
    int stacks = 0;
    for (size_t i = from; i < s.kids.size(); ++i) {
      Expr& k = *s.kids[i];
      if (k.type.is_string()) {
        if (plan_.strsize == 0 || plan_.strsize > PK_STRING_MAX / 2)
          return refuse("strsize is larger than the agent's record room");
        if (is_copyinstr(k)) {
          // copyinstr(ADDR): the agent reads it straight into the record.
          if (!expr(*k.kids[0])) return false;
          kinds.push_back(plan_.strsize);
        } else {
          // Any other string the agent has (a variable, execname, ...):
          // copied into the record, clipped to strsize as the tracer clips it.
          if (!string_value(k)) return false;
          kinds.push_back(plan_.strsize | PK_OUTS_LOCAL);
        }
        strings = true;
      } else if (k.type.kind == Type::Kind::stack) {
        // ustack(N): its frames, walked into the stack table's scratch
        // entry (one per statement) and copied into the record; probekit
        // symbolizes them (Program::agent_output).
        if (k.kind != ExprKind::call || static_cast<Fn>(k.id) != Fn::ustack) return refuse("a stack other than ustack()");
        if (stacks++) return refuse("two stacks in one statement");
        const uint32_t frames = ustack_frames(k);
        plan_.stack_frames = std::max(plan_.stack_frames, std::max<uint32_t>(frames, 1));
        ustack(frames, PK_USTACK_LOCAL);
        if (!push()) return false;
        kinds.push_back(PK_OUTS_STACK | std::max<uint32_t>(frames, 1));
        strings = true;
      } else if (is_symbol(k)) {
        // The address; probekit symbolizes it (Program::agent_output).
        if (!expr(*k.kids[0])) return false;
        kinds.push_back(0);
      } else {
        if (!k.type.is_scalar()) return refuse(s.text + "() of this value");
        if (!expr(k)) return false;
        ext(k.type);  // recorded at its type's size, as the tracer's Node::eval_into
        kinds.push_back(0);
      }
      ++n;
    }
    if (n > 255) return refuse("too many values");
    const uint32_t id = action_id();
    if (id > 0xffff) return refuse("too many actions for the agent");
    op(strings ? PK_OP_OUTS : PK_OP_OUT);
    u16(id);
    code.push_back(static_cast<uint8_t>(n));
    if (strings)
      for (uint32_t k : kinds) u16(k);
    pop(n);
    if (static_cast<Fn>(s.id) == Fn::exit) {  // the firing's later clauses are skipped
      imm(1);
      op(PK_OP_SETSELF);
      u16(exit_word());
      op(PK_OP_EXIT);  // and every later firing of the process
    }
    return true;
  }

  // override(v), raise(sig) (sema allowed them: -w): the agent acts on
  // the thread at its hit, as the tracer does when it stops there. A
  // signal must be a constant the kernel knows (the tracer reports a bad
  // one as an error, which the agent cannot).
  bool destructive(Expr& s, uint8_t opcode) {
    if (s.kids.size() != 1 || !s.kids[0]->type.is_scalar()) return refuse(s.text + "() of this value");
    if (opcode == PK_OP_RAISE && (s.kids[0]->kind != ExprKind::integer || s.kids[0]->ival < 1 || s.kids[0]->ival > 64))
      return refuse("raise() of a signal not known when the program is compiled");
    if (!expr(*s.kids[0])) return false;
    op(opcode);
    pop();
    return true;
  }

  bool arg(int n) {
    if (ret_) {
      // DTrace's pid return: arg0 the returning instruction's offset (the
      // site knows it: Probe::agent_reads_return_offset), arg1 the return
      // value; the rest 0, as the tracer's return handler has them.
      if (n == 0) {
        op(PK_OP_VAR);
        code.push_back(PK_DVAR_RETOFF);
      } else if (n == 1) {
        op(PK_OP_REG);
        code.push_back(static_cast<uint8_t>(kReturnValueWord));
      } else {
        imm(0);
      }
      return push();
    }
    if (n < 6) {
      op(PK_OP_REG);
      code.push_back(static_cast<uint8_t>(kEntryArgWord[n]));
    } else {
      op(PK_OP_STK);
      code.push_back(static_cast<uint8_t>(n - 5));
    }
    return push();
  }

  // ustack(N)'s frames, as the tracer bounds them (compiler.cpp Call).
  uint32_t ustack_frames(const Expr& call) const {
    const uint32_t n = call.ival > 0 && call.ival < 0xffff ? static_cast<uint32_t>(call.ival) : plan_.ustackframes;
    return std::min({n, plan_.maxframes, uint32_t{PK_USTACK_MAX}});
  }
  void ustack(uint32_t frames, uint8_t what) {
    op(PK_OP_USTACK);
    u16(std::min(frames, uint32_t{PK_USTACK_MAX}));
    code.push_back(what);
    const uint32_t off = plan_.stack_offset;
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(off >> (8 * i)));
    u16(plan_.stack_capacity);
    u16(plan_.stack_frames ? plan_.stack_frames + 2 : 0);
    u16(plan_.stack_limit);
  }

  // The probe's names, folded: the string itself (dry runs: any).
  std::optional<std::string> probe_name(Var v) const {
    if (!probe_) return std::string();
    switch (v) {
      case Var::probeprov: return probe_->key.provider;
      case Var::probemod: return probe_->key.module;
      case Var::probefunc: return probe_->key.function;
      case Var::probename: return probe_->key.name;
      default: return std::nullopt;
    }
  }
  // A string expression known when the code is generated.
  std::optional<std::string> constant_string(const Expr& e) const {
    if (e.kind == ExprKind::string) return e.text.substr(0, plan_.strsize);  // as the tracer's StrConst clips it
    if (e.kind == ExprKind::ident && e.slot < 0 && e.id >= 0) return probe_name(static_cast<Var>(e.id));
    return std::nullopt;
  }
  bool is_execname(const Expr& e) const {
    return e.kind == ExprKind::ident && e.slot < 0 && e.id == static_cast<int>(Var::execname);
  }

  // ufunc(x), usym(x), uaddr(x), umod(x): the agent keeps the address x,
  // probekit symbolizes it when it prints.
  static bool is_symbol(const Expr& e) {
    if (e.kind != ExprKind::call || e.kids.size() != 1 || !e.kids[0]->type.is_scalar()) return false;
    const Fn f = static_cast<Fn>(e.id);
    return f == Fn::ufunc || f == Fn::usym || f == Fn::uaddr || f == Fn::umod;
  }

  static bool is_copyinstr(const Expr& e) {
    return e.kind == ExprKind::call && static_cast<Fn>(e.id) == Fn::copyinstr && e.kids.size() == 1 &&
           e.kids[0]->type.is_scalar();
  }

  bool string_compare(Expr& e) {
    Expr& a = *e.kids[0];
    Expr& b = *e.kids[1];
    auto ca = constant_string(a), cb = constant_string(b);
    // (A literal, not a probe's name: the code's shape, and with it the
    // scratch strings it uses, must not depend on the probe.)
    auto short_literal = [&](const Expr& x) {
      return x.kind == ExprKind::string && std::min<size_t>(x.text.size(), plan_.strsize) <= PK_DVM_STRCMP_MAX;
    };
    if ((is_copyinstr(a) && short_literal(b)) || (is_copyinstr(b) && short_literal(a))) {
      // copyinstr(ADDR) OP "literal": STRCMP's -1/0/1, compared with 0.
      const std::string& lit = ca ? *ca : *cb;
      if (!expr(*(ca ? b : a).kids[0]) || !in_action()) return false;
      op(PK_OP_STRCMP);
      u16(std::min<uint32_t>(plan_.strsize, 0xffff));
      u16(static_cast<uint32_t>(lit.size()));
      code.insert(code.end(), lit.begin(), lit.end());
      if (ca) op(PK_OP_NEG);  // "lit" OP s: s OP' "lit"
      imm(0);
      if (!push()) return false;
      compare_with_zero(e.op);
      return true;
    }
    if (ca && cb) {
      const int c = dry_ ? 0 : ca->compare(*cb);
      imm(dry_ ? 0 : compare_ops(e.op, c < 0 ? -1 : c > 0 ? 1 : 0));
      return push();
    }
    if (e.op == Op::eq || e.op == Op::ne) {
      Expr* name = is_execname(a) ? &a : is_execname(b) ? &b : nullptr;
      auto lit = is_execname(a) ? cb : ca;
      if (name && lit) {
        // execname is at most 15 bytes and a NUL: compared as two words.
        if (lit->size() > 15) {
          imm(e.op == Op::ne);
          return push();
        }
        uint64_t w[2] = {0, 0};
        std::memcpy(w, lit->data(), lit->size());
        op(PK_OP_COMMEQ);
        for (uint64_t x : w)
          for (int i = 0; i < 8; ++i) code.push_back(static_cast<uint8_t>(x >> (8 * i)));
        if (e.op == Op::ne) op(PK_OP_LNOT);
        return push();
      }
    }
    // Any two strings the agent has: SCMP's -1/0/1, compared with 0.
    if (!string_value(a) || !string_value(b)) return false;
    op(PK_OP_SCMP);
    u16(std::max(string_bound(a), string_bound(b)));
    pop();
    imm(0);
    if (!push()) return false;
    compare_with_zero(e.op);
    return true;
  }
  // a OP b from the strcmp-like -1/0/1 and the 0 pushed above it (two words become one).
  void compare_with_zero(Op o) {
    switch (o) {
      case Op::eq: op(PK_OP_EQ); break;
      case Op::ne: op(PK_OP_NE); break;
      case Op::lt: op(PK_OP_SLT); break;
      case Op::le: op(PK_OP_SLE); break;
      case Op::gt: op(PK_OP_SGT); break;
      default: op(PK_OP_SGE); break;
    }
    pop();
  }
  // a OP b for strings a and b that strcmp orders c (-1, 0, 1).
  static bool compare_ops(Op o, int c) {
    switch (o) {
      case Op::eq: return c == 0;
      case Op::ne: return c != 0;
      case Op::lt: return c < 0;
      case Op::le: return c <= 0;
      case Op::gt: return c > 0;
      default: return c >= 0;
    }
  }

  // The bytes a string value holds and its NUL: what SCMP and SLEN look
  // at, at most (strsize; execname's 15 when it is less; a probe's name,
  // which the code holds whole).
  uint32_t string_bound(const Expr& e) const {
    const auto c = constant_string(e);
    return static_cast<uint32_t>(std::min<size_t>(std::max<size_t>({plan_.strsize, 16, c ? c->size() : 0}) + 1, 0xffff));
  }
  // Words of a string's copy in the thread's part: strsize bytes and a NUL.
  uint32_t string_words() const { return plan_.strsize / 8 + 1; }

  // A scratch string of the clause, for its n-th copyinstr(): the n-th of
  // every clause shares words of the part (clauses run one at a time), so
  // the layout pass and a probe's code find the same words.
  uint32_t scratch_word() {
    const uint32_t n = scratch_++;
    if (n >= plan_.scratch_word.size()) {
      plan_.scratch_word.push_back(plan_.self_words);
      plan_.self_words += string_words();
    }
    return plan_.scratch_word[n];
  }

  // Pushes a string value (agent_abi.h: the address of a NUL-terminated
  // copy the agent holds, at most strsize bytes): a literal, the probe's
  // names, execname, copyinstr(ADDR), a self-> or this-> string, strjoin(),
  // substr(), a ?: of them.
  bool string_value(Expr& e) {
    if (plan_.strsize == 0 || plan_.strsize > PK_STRING_MAX / 2)
      return refuse("strsize is larger than the agent's string room");
    if (auto c = constant_string(e)) {
      // (Not a probe's name: it is known only for a probe's code, which
      // must not fail where the plan said yes.)
      if (c->size() > 0xfff0) return refuse("a string longer than the agent's code holds");
      op(PK_OP_SLIT);
      u16(static_cast<uint32_t>(c->size()));
      code.insert(code.end(), c->begin(), c->end());
      code.push_back(0);
      return push();
    }
    if (is_execname(e)) {
      op(PK_OP_SCOMM);
      return push();
    }
    if (is_copyinstr(e)) {
      const uint32_t w = scratch_word();
      if (w + string_words() > 0xffff) return refuse("too many strings for the agent");
      if (!expr(*e.kids[0]) || !in_action()) return false;
      op(PK_OP_SREAD);
      u16(w);
      u16(plan_.strsize);
      return true;
    }
    if (is_global(e)) {
      if (!string_global(e.slot)) return false;
      op(PK_OP_SGLOBAL);
      return string_global_operands(e.slot) && push();
    }
    if (is_array(e)) {  // the element's string, in its entry ("" when missing)
      if (!array_keys(e)) return false;
      const int nkeys = key_words_;
      op(PK_OP_ASGET);
      if (!table(e.slot)) return false;
      pop(nkeys);
      return push();
    }
    if (e.kind == ExprKind::self_var || e.kind == ExprKind::this_var) {
      const uint32_t w = var_word(e);
      if (w + string_words() > 0xffff) return refuse("too many strings for the agent");
      op(PK_OP_SVAR);
      u16(w);
      return push();
    }
    if (e.kind == ExprKind::call && static_cast<Fn>(e.id) == Fn::strjoin && e.kids.size() == 2) {
      const uint32_t w = scratch_word();
      if (w + string_words() > 0xffff) return refuse("too many strings for the agent");
      if (!string_value(*e.kids[0]) || !string_value(*e.kids[1])) return false;
      op(PK_OP_SJOIN);
      u16(w);
      u16(plan_.strsize);
      pop();
      return true;
    }
    if (e.kind == ExprKind::call && static_cast<Fn>(e.id) == Fn::substr && (e.kids.size() == 2 || e.kids.size() == 3)) {
      const uint32_t w = scratch_word();
      if (w + string_words() > 0xffff) return refuse("too many strings for the agent");
      if (!string_value(*e.kids[0])) return false;
      for (size_t i = 1; i < e.kids.size(); ++i)
        if (!e.kids[i]->type.is_scalar() || !expr(*e.kids[i])) return refuse("substr() of these values");
      op(PK_OP_SUBSTR);
      u16(w);
      u16(plan_.strsize);
      code.push_back(e.kids.size() == 3 ? 1 : 0);
      pop(static_cast<int>(e.kids.size()) - 1);
      return true;
    }
    if (e.kind == ExprKind::ternary) {
      if (!expr(*e.kids[0])) return false;
      op(PK_OP_JZ);
      const size_t jz = code.size();
      u16(0);
      pop();
      if (!string_value(*e.kids[1])) return false;
      op(PK_OP_JMP);
      const size_t jmp = code.size();
      u16(0);
      pop();
      if (!patch(jz) || !string_value(*e.kids[2])) return false;
      return patch(jmp);
    }
    return refuse("a string other than a literal, execname, the probe's names, copyinstr(ADDR), strjoin(), "
                  "substr() or a string variable");
  }

public:
  bool expr(Expr& e) {
    // Floating values compare as doubles (CompareFloat), which the agent's
    // integer machine cannot do.
    if (e.type.is_floating() || e.cast_type.is_floating()) return refuse("a float or double value");
    if (e.type.object) return refuse("a struct or union value");
    switch (e.kind) {
      case ExprKind::integer:
        imm(e.ival);
        return push();
      case ExprKind::sizeof_type:
      case ExprKind::sizeof_expr:
        imm(e.ival);
        return push();
      case ExprKind::ident: {
        if (e.slot >= 0) {
          const int w = global(e.slot);
          if (w < 0) return false;
          op(PK_OP_GLOBAL);
          u16(static_cast<uint32_t>(w));
          ext(symbols_.globals[static_cast<size_t>(e.slot)].type);
          return push();
        }
        if (e.id < 0) return refuse("'" + e.text + "'");
        const Var v = static_cast<Var>(e.id);
        switch (v) {
          case Var::pid:
          case Var::tid:
          case Var::timestamp:
          case Var::vtimestamp:  // the tracer's vtimestamp is timestamp too (compiler.cpp)
          case Var::walltimestamp:
          case Var::cpu:
            op(PK_OP_VAR);
            code.push_back(v == Var::pid ? PK_DVAR_PID
                           : v == Var::tid ? PK_DVAR_TID
                           : v == Var::timestamp || v == Var::vtimestamp ? PK_DVAR_TIMESTAMP
                           : v == Var::walltimestamp ? PK_DVAR_WALLTIMESTAMP
                                                     : PK_DVAR_CPU);
            return push();
          case Var::arg0: case Var::arg1: case Var::arg2: case Var::arg3: case Var::arg4:
          case Var::arg5: case Var::arg6: case Var::arg7: case Var::arg8: case Var::arg9:
            return arg(static_cast<int>(v) - static_cast<int>(Var::arg0));
          case Var::ustackdepth:
            ustack(plan_.maxframes, PK_USTACK_DEPTH);
            return push();
          case Var::ucaller:
            ustack(2, PK_USTACK_CALLER);
            return push();
          case Var::retval:
            if (!ret_) return refuse("'retval' outside a return probe");
            op(PK_OP_REG);
            code.push_back(static_cast<uint8_t>(kReturnValueWord));
            return push();
          default: return refuse("'" + e.text + "' in the agent");
        }
      }
      case ExprKind::self_var:
      case ExprKind::this_var: {
        if (e.id == kArrayDecay) return refuse("a fixed-size array");
        if (!e.type.is_scalar()) return refuse(var_name(e) + " variable that is not an integer");
        op(PK_OP_SELF);
        u16(var_word(e));
        return push();
      }
      case ExprKind::index:
        if (e.id == static_cast<int>(IndexKind::args)) {
          return refuse("args[] (typed from the debug information, read by the tracer); argN runs in the agent");
        }
        if (e.id == static_cast<int>(IndexKind::uregs)) {
          if (e.ival >= kRegWords) return refuse("uregs[] of a vector register");
          op(PK_OP_REG);
          code.push_back(static_cast<uint8_t>(e.ival));
          return push();
        }
        if (!e.type.is_scalar()) return refuse("an associative array of strings here");
        if (!array_keys(e)) return false;
        op(PK_OP_AGET);
        if (!table(e.slot)) return false;
        pop(key_words_);
        ext(symbols_.globals[static_cast<size_t>(e.slot)].type);
        return push();
      case ExprKind::unary: {
        if (is_string_index(e)) return refuse("indexing a string");
        if (e.op == Op::deref) {
          // *(T *)ADDR: the fault-safe reader; nothing there is DTrace's
          // bad-address fault, reported by the tracer from the fault item.
          if (!e.type.is_scalar() || e.type.size == 0 || e.type.size > 8) return refuse("reading this type");
          if (!expr(*e.kids[0]) || !in_action()) return false;
          op(PK_OP_LOAD);
          code.push_back(e.type.size);
          code.push_back(e.type.is_signed && e.type.kind == Type::Kind::integer ? 1 : 0);
          return true;
        }
        if (e.op == Op::addr) return refuse("memory reads");
        if (!expr(*e.kids[0])) return false;
        switch (e.op) {
          case Op::neg: op(PK_OP_NEG); break;
          case Op::bnot: op(PK_OP_NOT); break;
          case Op::lnot: op(PK_OP_LNOT); return true;
          case Op::plus: break;
          default: return refuse(std::string("unary ") + to_string(e.op));
        }
        return true;  // in 64 bits, as the tracer's arith(): narrowed where stored or recorded
      }
      case ExprKind::binary: return binary(e);
      case ExprKind::call:
        if (static_cast<Fn>(e.id) == Fn::strlen && e.kids.size() == 1 && e.kids[0]->type.is_string()) {
          if (auto c = constant_string(*e.kids[0])) {
            imm(dry_ ? 0 : c->size());
            return push();
          }
          if (!string_value(*e.kids[0])) return false;
          op(PK_OP_SLEN);
          u16(string_bound(*e.kids[0]));
          return true;
        }
        return refuse(e.text + "() in the agent");
      case ExprKind::ternary: {
        if (!e.type.is_scalar()) return refuse("a string ?:");
        if (!expr(*e.kids[0])) return false;
        op(PK_OP_JZ);
        const size_t jz = code.size();
        u16(0);
        pop();
        if (!expr(*e.kids[1])) return false;
        op(PK_OP_JMP);
        const size_t jmp = code.size();
        u16(0);
        pop();
        if (!patch(jz) || !expr(*e.kids[2])) return false;
        return patch(jmp);
      }
      case ExprKind::cast:
        if (!e.type.is_scalar() || !e.kids[0]->type.is_scalar()) return refuse("a cast of a string");
        if (!expr(*e.kids[0])) return false;
        ext(e.type);
        return true;
      default: return refuse(std::string("this expression"));
    }
  }

private:
  bool binary(Expr& e) {
    Expr& a = *e.kids[0];
    Expr& b = *e.kids[1];
    switch (e.op) {
      case Op::land:
      case Op::lor: {
        // a && b: a; JZ false; b; LNOT; LNOT; JMP end; false: IMM 0; end.
        if (!expr(a)) return false;
        if (e.op == Op::lor) op(PK_OP_LNOT);
        op(PK_OP_JZ);
        const size_t jz = code.size();
        u16(0);
        pop();
        if (!expr(b)) return false;
        op(PK_OP_LNOT);
        op(PK_OP_LNOT);
        op(PK_OP_JMP);
        const size_t jmp = code.size();
        u16(0);
        pop();
        if (!patch(jz)) return false;
        imm(e.op == Op::lor ? 1 : 0);
        return push() && patch(jmp);
      }
      case Op::lxor:
        if (!expr(a)) return false;
        op(PK_OP_LNOT);
        if (!expr(b)) return false;
        op(PK_OP_LNOT);
        op(PK_OP_NE);
        pop();
        return true;
      case Op::eq: case Op::ne: case Op::lt: case Op::le: case Op::gt: case Op::ge: {
        if (e.cast_type.is_string()) return string_compare(e);
        if (!e.cast_type.is_scalar()) return refuse("comparing these values");
        if (!expr(a) || !expr(b)) return false;
        const bool s = e.cast_type.is_signed && e.cast_type.kind == Type::Kind::integer;
        switch (e.op) {
          case Op::eq: op(PK_OP_EQ); break;
          case Op::ne: op(PK_OP_NE); break;
          case Op::lt: op(s ? PK_OP_SLT : PK_OP_ULT); break;
          case Op::le: op(s ? PK_OP_SLE : PK_OP_ULE); break;
          case Op::gt: op(s ? PK_OP_SGT : PK_OP_UGT); break;
          default: op(s ? PK_OP_SGE : PK_OP_UGE); break;
        }
        pop();
        return true;
      }
      default: break;
    }
    if (!e.type.is_scalar() || !a.type.is_scalar() || !b.type.is_scalar()) return refuse("arithmetic on strings");
    if (e.type.kind == Type::Kind::pointer || a.type.kind == Type::Kind::pointer ||
        b.type.kind == Type::Kind::pointer)
      return refuse("pointer arithmetic");
    const bool s = e.type.is_signed && e.type.kind == Type::Kind::integer;
    if ((e.op == Op::div || e.op == Op::mod) && b.kind == ExprKind::integer && b.ival == 0)
      return refuse("division by 0");
    if ((e.op == Op::div || e.op == Op::mod) && b.kind != ExprKind::integer) {
      // A divisor that may be 0: DTrace's divide-by-zero fault, reported
      // by the tracer as ERROR from the agent's fault item.
      if (!expr(a) || !expr(b) || !in_action()) return false;
      op(e.op == Op::div ? PK_OP_DIVZ : PK_OP_MODZ);
      code.push_back(s ? 1 : 0);
      pop();
      return true;
    }
    if (!expr(a) || !expr(b)) return false;
    switch (e.op) {
      case Op::add: op(PK_OP_ADD); break;
      case Op::sub: op(PK_OP_SUB); break;
      case Op::mul: op(PK_OP_MUL); break;
      case Op::div: op(s ? PK_OP_SDIV : PK_OP_UDIV); break;
      case Op::mod:
        op(s ? PK_OP_SMOD : PK_OP_UMOD);
        // A negative constant divisor: DTrace's sign rule (compiler.cpp)
        // negates C's remainder.
        if (s && static_cast<int64_t>(b.ival) < 0) {
          pop();
          op(PK_OP_NEG);
          return true;
        }
        break;
      case Op::band: op(PK_OP_AND); break;
      case Op::bor: op(PK_OP_OR); break;
      case Op::bxor: op(PK_OP_XOR); break;
      case Op::shl: op(PK_OP_SHL); break;
      case Op::shr: op(s ? PK_OP_SAR : PK_OP_SHR); break;
      default: return refuse(std::string("operator ") + to_string(e.op));
    }
    pop();
    // No EXT: D computes in 64 bits (dtrace-utils' BPF registers, the
    // tracer's arith()); a value is narrowed where it is stored, cast or
    // recorded.
    return true;
  }

  static std::string var_name(const Expr& e) { return e.kind == ExprKind::this_var ? "a this->" : "a self->"; }

  // A compound assignment's operator (x op= v): the old value and v on
  // the stack, the result left there.
  bool compound(Op aop, const Type& t) {
    const bool sg = t.is_signed && t.kind == Type::Kind::integer;
    switch (aop) {
      case Op::add: op(PK_OP_ADD); break;
      case Op::sub: op(PK_OP_SUB); break;
      case Op::mul: op(PK_OP_MUL); break;
      case Op::band: op(PK_OP_AND); break;
      case Op::bor: op(PK_OP_OR); break;
      case Op::bxor: op(PK_OP_XOR); break;
      case Op::shl: op(PK_OP_SHL); break;
      case Op::shr: op(sg ? PK_OP_SAR : PK_OP_SHR); break;
      default: return refuse(std::string("operator ") + to_string(aop) + "=");
    }
    pop();
    return true;
  }
  // A this-> variable is a word of the thread's part too (after the
  // self-> ones it is laid out with), zeroed at the start of each firing
  // of a probe whose clauses use it (agent_code), as the tracer clears
  // its clause variables at each firing.
  // A string variable takes string_words() words (strsize bytes and a NUL).
  uint32_t var_word(const Expr& e) {
    const uint32_t words = e.type.is_string() ? string_words() : 1;
    if (e.kind != ExprKind::this_var) return self_word(e.slot, words);
    if (e.slot < 0) return 0;
    const int key = -1 - e.slot;  // this-> slots, kept apart from self-> ones
    auto it = plan_.this_word.find(key);
    if (it == plan_.this_word.end()) {
      it = plan_.this_word.emplace(key, plan_.self_words).first;
      plan_.self_words += words;
    }
    this_used.insert(it->second);
    return it->second;
  }

  // The word saying exit() ran in this firing: a this-> word of its own
  // (zeroed at each firing), kept apart from the program's this-> slots.
  uint32_t exit_word() {
    auto it = plan_.this_word.find(kExitKey);
    if (it == plan_.this_word.end()) it = plan_.this_word.emplace(kExitKey, plan_.self_words++).first;
    this_used.insert(it->second);
    return it->second;
  }
  static constexpr int kExitKey = std::numeric_limits<int>::min();

  // A store into a self-> or this-> variable's word. A self-> store is
  // charged to -x dynvarsize as the tracer charges it (SETSELFDYN: the
  // thread's self-> variables at its first store, all at once, to the
  // pk_ddyn before the arrays' tables; no room: a drop, no store).
  void set_var(const Expr& lhs, uint32_t w) {
    if (lhs.kind != ExprKind::self_var || plan_.dynvarsize == 0) {
      op(PK_OP_SETSELF);
      u16(w);
      return;
    }
    op(PK_OP_SETSELFDYN);
    u16(w);
    self_charge_operands(w);
  }
  // SETSELFDYN's and SSTOREDYN's last operands: the thread's flag word, the pk_ddyn.
  void self_charge_operands(uint32_t w) {
    auto it = plan_.self_flag.find(w);
    if (it == plan_.self_flag.end()) it = plan_.self_flag.emplace(w, plan_.self_words++).first;
    if (plan_.array_words == 0) plan_.array_words = sizeof(pk_ddyn) / 8;
    u16(it->second);
    const uint32_t dyn = static_cast<uint32_t>(plan_.global_slot.size());  // the scalars, then the pk_ddyn
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(dyn >> (8 * i)));
  }

public:
  std::set<uint32_t> this_used;  // the this-> words the code generated so far uses

private:
  uint32_t self_word(int slot, uint32_t words) {
    if (slot < 0) return 0;
    if (static_cast<size_t>(slot) >= plan_.self_word.size()) plan_.self_word.resize(static_cast<size_t>(slot) + 1, -1);
    int& w = plan_.self_word[static_cast<size_t>(slot)];
    if (w < 0) {
      w = static_cast<int>(plan_.self_words);
      plan_.self_words += words;
    }
    return static_cast<uint32_t>(w);
  }

  // A global integer variable's word (agent_abi.h dglobal_words), or -1.
  int global(int slot) {
    if (slot < 0 || static_cast<size_t>(slot) >= symbols_.globals.size()) {
      refuse("an unknown global variable");
      return -1;
    }
    const VarDecl& g = symbols_.globals[static_cast<size_t>(slot)];
    if (g.is_array) {
      refuse("associative arrays live in the tracer");
      return -1;
    }
    if (!g.type.is_scalar() || g.type.is_floating()) {
      refuse("global variable '" + g.name + "' is not an integer");
      return -1;
    }
    if (static_cast<size_t>(slot) >= plan_.global_word.size()) plan_.global_word.resize(static_cast<size_t>(slot) + 1, -1);
    int& w = plan_.global_word[static_cast<size_t>(slot)];
    if (w < 0) {
      if (plan_.global_slot.size() >= 0xffff) {
        refuse("too many global variables for the agent");
        return -1;
      }
      w = static_cast<int>(plan_.global_slot.size());
      plan_.global_slot.push_back(slot);
    }
    return w;
  }
  static bool is_global(const Expr& e) { return e.kind == ExprKind::ident && e.slot >= 0; }

  // A string global's place among the string globals (laid out after the
  // scalars and the arrays: the plan knows both before any probe's code).
  bool string_global(int slot) {
    if (slot < 0 || static_cast<size_t>(slot) >= symbols_.globals.size()) return refuse("an unknown global variable");
    const VarDecl& g = symbols_.globals[static_cast<size_t>(slot)];
    if (g.is_array || !g.type.is_string()) return refuse("global variable '" + g.name + "' is not a string");
    auto& index = plan_.string_global_index;
    if (static_cast<size_t>(slot) >= index.size()) index.resize(static_cast<size_t>(slot) + 1, -1);
    if (index[static_cast<size_t>(slot)] < 0) {
      index[static_cast<size_t>(slot)] = static_cast<int>(plan_.string_global_slot.size());
      plan_.string_global_slot.push_back(slot);
    }
    return true;
  }
  // SGLOBAL's and SSETGLOBAL's operands: the variable's word, strsize.
  bool string_global_operands(int slot) {
    const uint64_t word = plan_.string_globals_word() +
                          uint64_t{plan_.string_words()} * static_cast<uint32_t>(plan_.string_global_index[static_cast<size_t>(slot)]);
    if (word + plan_.string_words() > (1u << 28)) return refuse("too many string globals for the agent");
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(word >> (8 * i)));
    u16(plan_.strsize);
    return true;
  }
  // g = "string": a copy into the variable's room, clipped to strsize.
  bool string_global_assign(Expr& lhs, Expr* rhs, Op aop) {
    if (!rhs || aop != Op::none || !rhs->type.is_string()) return refuse("this operation on a string");
    if (!string_global(lhs.slot) || !string_value(*rhs)) return false;
    op(PK_OP_SSETGLOBAL);
    if (!string_global_operands(lhs.slot)) return false;
    pop();
    return true;
  }

  // What x += v, x -= v, x++ and x-- add to a shared variable (an atomic
  // add): v, or 1, negated for - and --.
  bool delta(Expr* rhs, Op aop) {
    if (rhs) {
      if (!expr(*rhs)) return false;
    } else {
      imm(1);
      if (!push()) return false;
    }
    if (aop == Op::sub || aop == Op::dec) op(PK_OP_NEG);
    return true;
  }

  // x = v, x op= v, x++ on a global: a plain store, or for + and - an
  // atomic add (threads incrementing one counter lose no update).
  bool global_assign(Expr& s, Expr& lhs, Expr* rhs, Op aop) {
    const int w = global(lhs.slot);
    if (w < 0) return false;
    if (rhs && !rhs->type.is_scalar()) return refuse("global variable '" + lhs.text + "' is not an integer");
    if (aop == Op::add || aop == Op::sub || aop == Op::inc || aop == Op::dec) {
      if (!delta(rhs, aop)) return false;
      op(PK_OP_ADDGLOBAL);
      u16(static_cast<uint32_t>(w));
      pop();
      return true;
    }
    if (aop != Op::none) {
      if (aop == Op::div || aop == Op::mod) return refuse("division in the agent");
      op(PK_OP_GLOBAL);
      u16(static_cast<uint32_t>(w));
      ext(symbols_.globals[static_cast<size_t>(lhs.slot)].type);
      if (!push()) return false;
    }
    if (!expr(*rhs)) return false;
    if (aop != Op::none && !compound(aop, s.type)) return false;
    ext(s.type);
    op(PK_OP_SETGLOBAL);
    u16(static_cast<uint32_t>(w));
    pop();
    return true;
  }

  static bool is_array(const Expr& e) {
    return e.kind == ExprKind::index && e.id == static_cast<int>(IndexKind::array);
  }
  // An associative array's table operand (u32: its pk_darray's word among
  // the global words; the scalars are all known once the plan is laid out).
  bool table(int slot) {
    const VarDecl& g = symbols_.globals[static_cast<size_t>(slot)];
    if (static_cast<size_t>(slot) >= plan_.array_index.size()) plan_.array_index.resize(static_cast<size_t>(slot) + 1, -1);
    int& index = plan_.array_index[static_cast<size_t>(slot)];
    if (index < 0) {
      AgentPlan::Array a;
      a.slot = slot;
      // A string key is its bytes (strsize, NUL-padded: PK_OP_SKEY).
      a.string_key_words = (plan_.strsize + 7) / 8;
      for (const Type& k : g.keys) {
        if (k.is_string()) {
          if (a.key_words < 64) a.string_starts |= uint64_t{1} << a.key_words;
          a.key_parts.push_back(a.string_key_words);
        } else {
          a.key_parts.push_back(1);
        }
        a.key_words += a.key_parts.back();
      }
      if (a.key_words >= 64) return refuse("the array's keys are too long for the agent's stack");
      // Each element is charged as the tracer charges it (d/compiler.cpp
      // ArrayElem): d::dynamic_variable_bytes. A string value is strsize
      // bytes and a NUL (a string global's room).
      if (g.type.is_string()) a.value_words = plan_.string_words();
      a.elem_bytes = dynamic_variable_bytes(symbols_, plan_.strsize, 8ull * (plan_.ustackframes + 1));
      const uint64_t most = plan_.dynvarsize && a.elem_bytes ? plan_.dynvarsize / a.elem_bytes : 1 << 15;
      a.capacity = 16;
      while (a.capacity < 2 * most && a.capacity < (1u << 20)) a.capacity *= 2;
      if (plan_.array_words == 0) plan_.array_words = sizeof(pk_ddyn) / 8;
      a.word = plan_.array_words;
      const uint64_t words = sizeof(pk_darray) / 8 + a.capacity * (1 + a.key_words + std::max<uint32_t>(a.value_words, 1));
      if (plan_.array_words + words > (1u << 28)) return refuse("the agent's associative arrays are too large");
      plan_.array_words += static_cast<uint32_t>(words);
      index = static_cast<int>(plan_.arrays.size());
      plan_.arrays.push_back(a);
    }
    const uint32_t word = static_cast<uint32_t>(plan_.global_slot.size()) + plan_.arrays[static_cast<size_t>(index)].word;
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(word >> (8 * i)));
    return true;
  }
  // The key words of a[k1, ...]: integers and strings (their bytes);
  // key_words_ says how many words they took.
  int key_words_ = 0;
  bool array_keys(Expr& e) {
    key_words_ = 0;
    if (e.slot < 0 || static_cast<size_t>(e.slot) >= symbols_.globals.size()) return refuse("an unknown array");
    const VarDecl& g = symbols_.globals[static_cast<size_t>(e.slot)];
    if (e.ival > 0 || g.dim > 0) return refuse("a fixed-size array");
    if ((!g.type.is_scalar() || g.type.is_floating()) && !g.type.is_string())
      return refuse("an associative array of this type");
    if (g.keys.size() != e.kids.size() || e.kids.empty()) return refuse("an associative array's keys");
    for (size_t i = 0; i < e.kids.size(); ++i) {
      if (e.kids[i]->type.is_string() && g.keys[i].is_string()) {
        // Its bytes, strsize-bounded, as an aggregation's string key.
        const uint32_t words = (plan_.strsize + 7) / 8;
        if (!string_value(*e.kids[i])) return false;
        op(PK_OP_SKEY);
        u16(words);
        pop();
        if (!push(static_cast<int>(words))) return false;
        key_words_ += static_cast<int>(words);
        continue;
      }
      if (!e.kids[i]->type.is_scalar() || !g.keys[i].is_scalar() || g.keys[i].is_floating())
        return refuse("an associative array with a key of this type");
      if (!expr(*e.kids[i])) return false;
      ext(g.keys[i]);  // the key as the tracer stores it (its declared type)
      ++key_words_;
    }
    return true;
  }
  // a[k] = v, a[k] op= v, a[k]++: a store (ASET; 0 deletes), or for + and -
  // an atomic add (AADD).
  bool array_assign(Expr& s, Expr& lhs, Expr* rhs, Op aop) {
    if (lhs.type.is_string()) {
      // a[k] = "string": a copy into the element, clipped to strsize ("" deletes it).
      if (!rhs || aop != Op::none || !rhs->type.is_string()) return refuse("this operation on a string");
      if (!array_keys(lhs)) return false;
      const int nkeys = key_words_;
      if (!string_value(*rhs)) return false;
      op(PK_OP_ASSET);
      if (!table(lhs.slot)) return false;
      u16(plan_.strsize);
      pop(nkeys + 1);
      return true;
    }
    if (rhs && !rhs->type.is_scalar()) return refuse("an associative array of strings");
    if (!array_keys(lhs)) return false;
    const int nkeys = key_words_;
    if (aop == Op::add || aop == Op::sub || aop == Op::inc || aop == Op::dec) {
      if (!delta(rhs, aop)) return false;
      op(PK_OP_AADD);
      if (!table(lhs.slot)) return false;
      pop(nkeys + 1);
      return true;
    }
    if (aop != Op::none) {
      if (aop == Op::div || aop == Op::mod) return refuse("division in the agent");
      if (!array_keys(lhs)) return false;
      op(PK_OP_AGET);
      if (!table(lhs.slot)) return false;
      pop(nkeys);
      ext(symbols_.globals[static_cast<size_t>(lhs.slot)].type);
      if (!push()) return false;
    }
    if (!expr(*rhs)) return false;
    if (aop != Op::none && !compound(aop, s.type)) return false;
    ext(s.type);
    op(PK_OP_ASET);
    if (!table(lhs.slot)) return false;
    pop(nkeys + 1);
    return true;
  }

  uint32_t string_id(const std::string& s) {
    auto it = std::find(plan_.strings.begin(), plan_.strings.end(), s);
    if (it != plan_.strings.end()) return static_cast<uint32_t>(it - plan_.strings.begin());
    plan_.strings.push_back(s);
    return static_cast<uint32_t>(plan_.strings.size() - 1);
  }

  // One key part; records its kind in `parts`.
  bool key(Expr& k, std::vector<AgentKeyPart>& parts) {
    AgentKeyPart part;
    if (k.type.is_string()) {
      if (is_execname(k)) {
        op(PK_OP_COMM);
        part.kind = AgentKeyPart::Kind::comm;
        parts.push_back(part);
        return push(2);
      }
      auto c = constant_string(k);
      if (!c) {
        // Any other string: its bytes, strsize-bounded, are the key's words.
        part.kind = AgentKeyPart::Kind::string;
        part.words = (plan_.strsize + 7) / 8;
        if (!string_value(k)) return false;
        op(PK_OP_SKEY);
        u16(part.words);
        pop();
        parts.push_back(part);
        return push(static_cast<int>(part.words));
      }
      imm(dry_ ? 0 : string_id(*c));
      part.kind = AgentKeyPart::Kind::string_id;
      parts.push_back(part);
      return push();
    }
    if (is_symbol(k)) {
      if (!expr(*k.kids[0])) return false;
      part.kind = AgentKeyPart::Kind::symbol;
      part.fn = static_cast<Fn>(k.id);
      parts.push_back(part);
      return true;
    }
    if (k.type.kind == Type::Kind::stack) {
      // ustack(N): its id in the thread's stack table; probekit reads the
      // frames back and symbolizes them as the tracer's ustack() does.
      if (k.kind != ExprKind::call || static_cast<Fn>(k.id) != Fn::ustack) return refuse("a stack other than ustack()");
      const uint32_t frames = ustack_frames(k);
      plan_.stack_frames = std::max(plan_.stack_frames, std::max<uint32_t>(frames, 1));
      ustack(frames, PK_USTACK_KEY);
      part.kind = AgentKeyPart::Kind::stack;
      parts.push_back(part);
      return push();
    }
    if (!k.type.is_scalar()) return refuse("a key of type " + k.type.name());
    if (!expr(k)) return false;
    ext(k.type);  // recorded at its type's size, as the tracer's Node::eval_into
    part.kind = AgentKeyPart::Kind::integer;
    part.type = k.type;
    parts.push_back(part);
    return true;
  }

  bool agg_set(Expr& e) {
    Expr& call = *e.kids[0];
    const AggFn fn = static_cast<AggFn>(call.id);
    uint32_t func;
    switch (fn) {
      case AggFn::count: func = PK_DAGG_COUNT; break;
      case AggFn::sum: func = PK_DAGG_SUM; break;
      case AggFn::avg: func = PK_DAGG_AVG; break;
      case AggFn::min: func = PK_DAGG_MIN; break;
      case AggFn::max: func = PK_DAGG_MAX; break;
      case AggFn::stddev: func = PK_DAGG_STDDEV; break;
      case AggFn::quantize: func = PK_DAGG_QUANTIZE; break;
      case AggFn::lquantize: func = PK_DAGG_LQUANTIZE; break;
      case AggFn::llquantize: func = PK_DAGG_LLQUANTIZE; break;
      default: return refuse("this aggregating function");
    }
    std::vector<AgentKeyPart> parts;
    for (size_t i = 1; i < e.kids.size(); ++i)
      if (!key(*e.kids[i], parts)) return false;
    if (!call.kids.empty()) {
      if (!call.kids[0]->type.is_scalar()) return refuse("aggregating a string");
      if (!expr(*call.kids[0])) return false;
    } else {
      imm(0);
      if (!push()) return false;
    }
    const size_t incr_at = fn == AggFn::quantize ? 1 : fn == AggFn::lquantize ? 4 : fn == AggFn::llquantize ? 5 : 99;
    if (call.kids.size() > incr_at) {
      if (!expr(*call.kids[incr_at])) return false;
    } else {
      imm(1);
      if (!push()) return false;
    }
    int index = agg_index(e.slot, func, parts);
    if (index < 0) return false;
    op(PK_OP_AGG);
    u16(static_cast<uint32_t>(index));
    int words = 2;
    for (const auto& p : parts) words += static_cast<int>(p.key_words());
    pop(words);
    return true;
  }

  int agg_index(int slot, uint32_t func, const std::vector<AgentKeyPart>& parts) {
    if (slot < 0 || static_cast<size_t>(slot) >= symbols_.aggs.size()) {
      refuse("an undeclared aggregation");
      return -1;
    }
    if (plan_.agg_index.size() < symbols_.aggs.size()) plan_.agg_index.resize(symbols_.aggs.size(), -1);
    int& index = plan_.agg_index[static_cast<size_t>(slot)];
    auto same = [](const std::vector<AgentKeyPart>& a, const std::vector<AgentKeyPart>& b) {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (a[i].kind != b[i].kind || !(a[i].type == b[i].type) || a[i].fn != b[i].fn) return false;
      return true;
    };
    if (index >= 0) {
      if (!same(plan_.agg_keys[static_cast<size_t>(index)], parts)) {
        refuse("@" + symbols_.aggs[static_cast<size_t>(slot)].name + " is keyed differently elsewhere");
        return -1;
      }
      return index;
    }
    const AggDecl& decl = symbols_.aggs[static_cast<size_t>(slot)];
    pk_dagg a{};
    a.func = func;
    uint32_t key_words = 0;
    for (const auto& p : parts) key_words += p.key_words();
    a.key_words = static_cast<uint16_t>(key_words);
    switch (func) {
      case PK_DAGG_AVG:
      case PK_DAGG_MIN:
      case PK_DAGG_MAX: a.value_words = 2; break;
      case PK_DAGG_STDDEV: a.value_words = 4; break;
      case PK_DAGG_QUANTIZE: a.value_words = kQuantizeBuckets; break;
      case PK_DAGG_LQUANTIZE:
        a.lo = decl.params.lo;
        a.step = decl.params.step;
        a.levels = static_cast<uint32_t>((decl.params.hi - decl.params.lo) / decl.params.step);
        a.value_words = static_cast<uint16_t>(a.levels + 2);
        break;
      case PK_DAGG_LLQUANTIZE: {
        const AggParams& p = decl.params;
        a.factor = static_cast<uint16_t>(p.factor);
        a.lmag = static_cast<uint16_t>(p.low);
        a.hmag = static_cast<uint16_t>(p.high);
        a.steps = static_cast<uint16_t>(p.steps);
        const int64_t per_mag = p.steps - p.steps / p.factor, npos = (p.high - p.low + 1) * per_mag;
        if (2 * npos + 3 > 0xffff) {
          refuse("llquantize() with more than 65535 buckets");
          return -1;
        }
        a.value_words = static_cast<uint16_t>(2 * npos + 3);
        break;
      }
      default: a.value_words = 1; break;
    }
    index = static_cast<int>(plan_.aggs.size());
    plan_.aggs.push_back(a);
    plan_.agg_slot.push_back(slot);
    plan_.agg_keys.push_back(parts);
    return index;
  }

  bool statement(Expr& s) {
    depth_ = 0;
    switch (s.kind) {
      case ExprKind::agg_set: return agg_set(s);
      case ExprKind::assign: {
        Expr& lhs = *s.kids[0];
        if (lhs.type.object) return refuse("a struct or union value");
        if (s.op != Op::none && lhs.type.kind == Type::Kind::pointer && lhs.type.pointee_size > 1)
          return refuse("+= or -= of a pointer (it moves by whole objects)");
        if (is_global(lhs) && lhs.type.is_string()) return string_global_assign(lhs, s.kids[1].get(), s.op);
        if (is_global(lhs)) return global_assign(s, lhs, s.kids[1].get(), s.op);
        if (is_array(lhs)) return array_assign(s, lhs, s.kids[1].get(), s.op);
        if (lhs.kind != ExprKind::self_var && lhs.kind != ExprKind::this_var)
          return refuse("assigning anything but a variable");
        if (lhs.type.is_string() && s.kids[1]->type.is_string() && s.op == Op::none) {
          // A copy into the variable's words, clipped to strsize.
          // A self-> store is charged to dynvarsize as the tracer charges it.
          const uint32_t w = var_word(lhs);
          if (!string_value(*s.kids[1])) return false;
          const bool charged = lhs.kind == ExprKind::self_var && plan_.dynvarsize != 0;
          op(charged ? PK_OP_SSTOREDYN : PK_OP_SSTORE);
          u16(w);
          u16(plan_.strsize);
          if (charged) self_charge_operands(w);
          pop();
          return true;
        }
        if (!lhs.type.is_scalar() || !s.kids[1]->type.is_scalar())
          return refuse(var_name(lhs) + " variable that is not an integer");
        const uint32_t w = var_word(lhs);
        if (s.op != Op::none) {
          if (s.op == Op::div || s.op == Op::mod) return refuse("division in the agent");
          op(PK_OP_SELF);
          u16(w);
          if (!push()) return false;
        }
        if (!expr(*s.kids[1])) return false;
        if (s.op != Op::none && !compound(s.op, s.type)) return false;
        ext(s.type);
        set_var(lhs, w);
        pop();
        return true;
      }
      case ExprKind::incdec: {
        Expr& lhs = *s.kids[0];
        if (lhs.type.kind == Type::Kind::pointer && lhs.type.pointee_size > 1)
          return refuse("++/-- of a pointer (it moves by a whole object)");
        if (is_global(lhs) && lhs.type.is_scalar()) return global_assign(s, lhs, nullptr, s.op);
        if (is_array(lhs) && lhs.type.is_scalar()) return array_assign(s, lhs, nullptr, s.op);
        if ((lhs.kind != ExprKind::self_var && lhs.kind != ExprKind::this_var) || !lhs.type.is_scalar())
          return refuse("++/-- of anything but an integer self-> or this-> variable");
        const uint32_t w = var_word(lhs);
        op(PK_OP_SELF);
        u16(w);
        imm(1);
        op(s.op == Op::inc ? PK_OP_ADD : PK_OP_SUB);
        ext(lhs.type);
        set_var(lhs, w);
        return true;
      }
      case ExprKind::call:
        switch (static_cast<Fn>(s.id)) {
          case Fn::override: return destructive(s, PK_OP_OVERRIDE);
          case Fn::raise: return destructive(s, PK_OP_RAISE);
          default: return output(s);
        }
      default: return refuse("this statement");
    }
  }

  AgentPlan& plan_;
  const Symbols& symbols_;
  const ProbeEntry* probe_;
  bool dry_;
  bool ret_;
  int depth_ = 0;
  uint32_t clause_ = 0;
  int action_ = 0;
  uint32_t scratch_ = 0;  // copyinstr() scratch strings of the clause so far
};

// `@[probefunc] = count()` and the like with no predicate: what
// Program::countable turns into a counting jump site (no code at all).
bool only_counts(const Clause& c) {
  if (c.predicate || c.body.empty()) return false;
  for (const auto& s : c.body) {
    if (s->kind != ExprKind::agg_set || static_cast<AggFn>(s->kids[0]->id) != AggFn::count ||
        !s->kids[0]->kids.empty())
      return false;
    for (size_t i = 1; i < s->kids.size(); ++i) {
      const Expr& k = *s->kids[i];
      const bool constant = k.kind == ExprKind::string || k.kind == ExprKind::integer ||
                            (k.kind == ExprKind::ident && k.slot < 0 &&
                             (k.id == static_cast<int>(Var::probefunc) || k.id == static_cast<int>(Var::probemod) ||
                              k.id == static_cast<int>(Var::probename) || k.id == static_cast<int>(Var::probeprov)));
      if (!constant) return false;
    }
  }
  return true;
}

}  // namespace

namespace {

// argN (N < 6) or a cast of it to a 4- or 8-byte integer: its register word and width.
bool guard_operand(const Expr& e, int* word, uint8_t* size) {
  const Expr* x = &e;
  uint8_t sz = 8;
  if (x->kind == ExprKind::cast) {
    if (!x->type.is_integer() || (x->type.size != 4 && x->type.size != 8)) return false;
    sz = x->type.size;
    x = x->kids[0].get();
  }
  if (x->kind != ExprKind::ident || x->slot >= 0 || x->id < static_cast<int>(Var::arg0) ||
      x->id > static_cast<int>(Var::arg5))
    return false;
  *word = kEntryArgWord[x->id - static_cast<int>(Var::arg0)];
  *size = sz;
  return true;
}

void guard_terms(const Expr& e, std::vector<AgentGuardTerm>& out) {
  if (e.kind != ExprKind::binary) return;
  if (e.op == Op::land) {
    guard_terms(*e.kids[0], out);
    guard_terms(*e.kids[1], out);
    return;
  }
  if (e.op != Op::eq && e.op != Op::ne && e.op != Op::lt && e.op != Op::le && e.op != Op::gt && e.op != Op::ge) return;
  if (!e.cast_type.is_integer() || (e.cast_type.size != 4 && e.cast_type.size != 8)) return;
  const Expr* a = e.kids[0].get();
  const Expr* b = e.kids[1].get();
  Op op = e.op;
  if (a->kind == ExprKind::integer) {  // 5 < arg0: arg0 > 5
    std::swap(a, b);
    op = op == Op::lt ? Op::gt : op == Op::gt ? Op::lt : op == Op::le ? Op::ge : op == Op::ge ? Op::le : op;
  }
  AgentGuardTerm t;
  if (b->kind != ExprKind::integer || !guard_operand(*a, &t.word, &t.size) || t.size != e.cast_type.size) return;
  t.op = op;
  t.is_signed = e.cast_type.is_signed;
  t.imm = normalize_to(e.cast_type, static_cast<int64_t>(b->ival));
  out.push_back(t);
}

// Whether two descriptions can name one probe: a field both give without
// globs must be equal, one glob must match the other's text. The module is
// not compared ("libc" names "libc.so.6"): it never tells them apart.
bool may_overlap(const ProbeDesc& a, const ProbeDesc& b) {
  auto field = [](const std::string& x, const std::string& y) {
    if (x.empty() || y.empty()) return true;
    const bool gx = has_glob(x), gy = has_glob(y);
    if (!gx && !gy) return x == y;
    if (gx && gy) return true;
    return gx ? glob_match(x, y) : glob_match(y, x);
  };
  return field(a.provider, b.provider) && field(a.function, b.function) && field(a.name, b.name);
}

}  // namespace

std::vector<std::vector<AgentGuardTerm>> agent_guard(const ProgramAst& ast, const ProbeEntry& probe) {
  std::vector<std::vector<AgentGuardTerm>> out;
  if (probe.flow == ProbeEntry::Flow::ret) return out;  // argN are no argument registers there
  for (uint32_t ci : probe.clauses) {
    std::vector<AgentGuardTerm> terms;
    if (ci < ast.clauses.size() && ast.clauses[ci].predicate) guard_terms(*ast.clauses[ci].predicate, terms);
    if (terms.empty()) return {};
    out.push_back(std::move(terms));
  }
  return out;
}

namespace {
bool calls_exit(Clause& c);
bool pid_descs(const Clause& c) {
  return !c.descs.empty() && std::all_of(c.descs.begin(), c.descs.end(), [](const ProbeDesc& d) {
    return d.provider.rfind("pid", 0) == 0 && d.provider.size() > 3 &&
           std::all_of(d.provider.begin() + 3, d.provider.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  });
}
}  // namespace

AgentPlan plan_agent(ProgramAst& ast, const Symbols& symbols, bool flow_indent, uint32_t entries_per_agg,
                     uint32_t strsize, uint64_t dynvarsize, uint32_t ustackframes, uint32_t maxframes,
                     uint64_t aggsize) {
  AgentPlan plan;
  plan.strsize = strsize;
  plan.dynvarsize = dynvarsize;
  plan.ustackframes = ustackframes;
  plan.maxframes = maxframes;
  const size_t n = ast.clauses.size();
  plan.clause_ready.assign(n, false);
  plan.clause_why.assign(n, "");
  for (auto& c : ast.clauses) plan.pid_exit = plan.pid_exit || (pid_descs(c) && calls_exit(c));
  std::vector<Touches> touches(n);
  std::vector<bool> compiles(n, false);
  for (size_t i = 0; i < n; ++i) {
    Clause& c = ast.clauses[i];
    bool pid_only = !c.descs.empty(), at_entry = false, at_return = false;
    for (const auto& d : c.descs) {
      const bool pid = d.provider.rfind("pid", 0) == 0 && d.provider.size() > 3 &&
                       std::all_of(d.provider.begin() + 3, d.provider.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      pid_only = pid_only && pid && (d.name == "entry" || d.name == "return");
      at_entry = at_entry || d.name == "entry";
      at_return = at_return || d.name == "return";
    }
    // The clause compiles for every kind of probe it names.
    AgentPlan scratch;
    scratch.strsize = strsize;
    scratch.dynvarsize = dynvarsize;
    scratch.ustackframes = ustackframes;
    scratch.maxframes = maxframes;
    Gen g(scratch, symbols, nullptr, true, false), gr(scratch, symbols, nullptr, true, true);
    if (flow_indent) {
      plan.clause_why[i] = "-F prints every firing";
    } else if (!pid_only) {
      plan.clause_why[i] = "only pid entry and return probes run in the agent";
    } else if (only_counts(c) && at_entry && !plan.pid_exit) {
      plan.clause_why[i] = "it only counts: the jump site's counter does it";
    } else if (at_entry && !g.clause(c, static_cast<uint32_t>(i))) {
      plan.clause_why[i] = g.why;
    } else if (at_return && !gr.clause(c, static_cast<uint32_t>(i))) {
      plan.clause_why[i] = gr.why;
    } else {
      compiles[i] = true;
    }
    // A clause that does not compile may still touch state: find what.
    struct Walk : Visitor<Walk> {
      Touches* t;
      void visit_agg_set(Expr& e) {
        t->aggs.insert(e.slot);
        visit_children(e);
      }
      void visit_agg_ref(Expr& e) {
        t->aggs.insert(-1 - e.slot);  // printed, cleared, truncated: below
        visit_children(e);
      }
      void visit_self_var(Expr& e) {
        t->selfs.insert(e.slot);
        visit_children(e);
      }
      void visit_index(Expr& e) {
        if (e.id == static_cast<int>(IndexKind::array)) t->arrays.insert(e.slot);
        visit_children(e);
      }
      void changes(Expr& e) {
        const Expr& lhs = *e.kids[0];
        if (lhs.kind == ExprKind::index && lhs.id == static_cast<int>(IndexKind::array)) t->arrays_changed.insert(lhs.slot);
      }
      void visit_assign(Expr& e) {
        changes(e);
        visit_children(e);
      }
      void visit_incdec(Expr& e) {
        changes(e);
        visit_children(e);
      }
    } walk;
    walk.t = &touches[i];
    walk.visit_clause(c);
  }
  // Aggregations named by printa() only stay agent-owned; clear(), trunc()
  // and the like change them in the tracer.
  std::set<int> changed_in_tracer;
  for (size_t i = 0; i < n; ++i) {
    struct Calls : Visitor<Calls> {
      std::set<int>* changed;
      void visit_call(Expr& e) {
        if (e.text != "printa")
          for (auto& k : e.kids)
            if (k->kind == ExprKind::agg_ref) changed->insert(k->slot);
        visit_children(e);
      }
    } calls;
    calls.changed = &changed_in_tracer;
    calls.visit_clause(ast.clauses[i]);
  }
  std::vector<bool> ready = compiles;
  for (;;) {
    // The fixpoint: state any tracer clause touches is the tracer's, and so
    // is every clause touching it.
    for (bool moved = true; moved;) {
      moved = false;
      std::set<int> tracer_aggs(changed_in_tracer), tracer_selfs, tracer_arrays;
      for (size_t i = 0; i < n; ++i) {
        if (ready[i]) continue;
        for (int a : touches[i].aggs)
          if (a >= 0) tracer_aggs.insert(a);
        tracer_selfs.insert(touches[i].selfs.begin(), touches[i].selfs.end());
        tracer_arrays.insert(touches[i].arrays_changed.begin(), touches[i].arrays_changed.end());
      }
      for (size_t i = 0; i < n; ++i) {
        if (!ready[i]) continue;
        for (int a : touches[i].aggs) {
          if (a >= 0 && tracer_aggs.count(a)) {
            ready[i] = false;
            plan.clause_why[i] = "@" + symbols.aggs[static_cast<size_t>(a)].name + " is also changed in the tracer";
          }
        }
        for (int s : touches[i].selfs) {
          if (ready[i] && tracer_selfs.count(s)) {
            ready[i] = false;
            plan.clause_why[i] = "self->" + symbols.thread_vars[static_cast<size_t>(s)].name +
                                 " is also used by a clause that runs in the tracer";
          }
        }
        // An array the tracer changes is the tracer's (one it only reads
        // is read from the agent's table).
        for (int a : touches[i].arrays) {
          if (ready[i] && tracer_arrays.count(a)) {
            ready[i] = false;
            plan.clause_why[i] = symbols.globals[static_cast<size_t>(a)].name + "[] is also changed in the tracer";
          }
        }
        // A probe runs its clauses in one place: one that may share a
        // probe with a clause in the tracer goes there too.
        for (size_t j = 0; ready[i] && j < n; ++j) {
          if (ready[j] || j == i) continue;
          for (const auto& di : ast.clauses[i].descs)
            for (const auto& dj : ast.clauses[j].descs)
              if (ready[i] && may_overlap(di, dj)) {
                ready[i] = false;
                plan.clause_why[i] = "clause " + std::to_string(j + 1) + ", which runs in the tracer, may fire for the same probes";
              }
        }
        moved = moved || !ready[i];
      }
    }
    // Lay out the state of the ready clauses, in clause order; a clause
    // whose keys disagree with an earlier one's for the same aggregation
    // goes to the tracer, and the fixpoint runs again.
    AgentPlan layout;
    layout.strsize = strsize;
    layout.dynvarsize = dynvarsize;
    layout.ustackframes = ustackframes;
    layout.maxframes = maxframes;
    bool stable = true;
    for (size_t i = 0; i < n; ++i) {
      if (!ready[i]) continue;
      const bool at_return = std::any_of(ast.clauses[i].descs.begin(), ast.clauses[i].descs.end(),
                                         [](const ProbeDesc& d) { return d.name == "return"; });
      Gen g(layout, symbols, nullptr, false, at_return);
      if (!g.clause(ast.clauses[i], static_cast<uint32_t>(i))) {
        ready[i] = false;
        plan.clause_why[i] = g.why;
        stable = false;
      }
    }
    if (!stable) continue;
    plan.agg_index = std::move(layout.agg_index);
    plan.agg_slot = std::move(layout.agg_slot);
    plan.agg_keys = std::move(layout.agg_keys);
    plan.aggs = std::move(layout.aggs);
    plan.self_word = std::move(layout.self_word);
    plan.self_words = layout.self_words;
    plan.self_flag = std::move(layout.self_flag);
    plan.global_word = std::move(layout.global_word);
    plan.global_slot = std::move(layout.global_slot);
    plan.array_index = std::move(layout.array_index);
    plan.arrays = std::move(layout.arrays);
    plan.array_words = layout.array_words;
    plan.string_global_index = std::move(layout.string_global_index);
    plan.string_global_slot = std::move(layout.string_global_slot);
    plan.this_word = std::move(layout.this_word);
    plan.scratch_word = std::move(layout.scratch_word);
    plan.strings = std::move(layout.strings);
    plan.actions = std::move(layout.actions);
    plan.stack_frames = layout.stack_frames;
    break;
  }
  plan.clause_ready = ready;
  for (size_t i = 0; i < n; ++i)
    for (int a : touches[i].arrays)
      if (!ready[i] && static_cast<size_t>(a) < plan.array_index.size() && plan.array_index[static_cast<size_t>(a)] >= 0)
        plan.arrays_read_in_tracer = true;
  plan.any = std::find(ready.begin(), ready.end(), true) != ready.end();
  if (plan.stack_frames) {
    // ustack() keys: the thread's stack table (a scratch entry the walk
    // fills, then the entries). It holds as many stacks as the tracer's
    // aggregations hold keys with a stack: -x aggsize over the smallest
    // such entry (Aggregation::entry_bytes: 40 bytes, the stack's
    // SpaceBudget::stack_bytes of 8 * (ustackframes + 1), an 8-byte
    // value), 4,900 at the defaults; so a thread's table never drops a
    // stack the trap path would keep, and the drops are the merge's
    // (absorb_agent), as the trap path's are its budget's. At most 3/4 of
    // the entries are used (a short probe when full), 24,576 stacks at
    // most (the op's u16 capacity). Only the pages the thread writes are
    // ever touched: probekit reads an entry by a key's id, never the
    // whole table.
    const uint64_t smallest = 40 + 8 * (uint64_t{ustackframes} + 1) + 8;
    const uint64_t budget = aggsize ? aggsize : uint64_t{4} << 20;
    plan.stack_limit = static_cast<uint32_t>(std::clamp<uint64_t>(budget / smallest, 1, 0x6000));
    plan.stack_capacity = 4;
    while (plan.stack_capacity < 0x8000 && uint64_t{plan.stack_capacity} * 3 < uint64_t{plan.stack_limit} * 4 + 3)
      plan.stack_capacity *= 2;
  }
  uint64_t offset = 8ull * plan.self_words;
  for (size_t i = 0; i < plan.aggs.size(); ++i) {
    pk_dagg& a = plan.aggs[i];
    offset = (offset + 63) & ~uint64_t{63};
    a.offset = static_cast<uint32_t>(offset);
    a.capacity = entries_per_agg;
    // A string key is strsize bytes in every entry: such a table gets no
    // more than 64 bytes per entry of an integer table (512 keys a thread
    // at the default aggsize and strsize), since probekit reads every
    // thread's whole table at each print; a key that finds no room is an
    // aggregation drop.
    const bool strings = std::any_of(plan.agg_keys[i].begin(), plan.agg_keys[i].end(),
                                     [](const AgentKeyPart& p) { return p.kind == AgentKeyPart::Kind::string; });
    const uint64_t entry = 8ull * (1u + a.key_words + a.value_words);
    while (strings && a.capacity > 64 && uint64_t{a.capacity} * entry > uint64_t{entries_per_agg} * 64) a.capacity /= 2;
    // A key with a stack: room for every stack the thread's stack table
    // holds (and the one id of those it has no room for), so the table's
    // drops, not this one's, are the trap path's; never a full table,
    // whose every miss probes each entry.
    const bool stacks = std::any_of(plan.agg_keys[i].begin(), plan.agg_keys[i].end(),
                                    [](const AgentKeyPart& p) { return p.kind == AgentKeyPart::Kind::stack; });
    if (stacks && !strings) a.capacity = std::max(a.capacity, plan.stack_capacity);
    offset += sizeof(pk_dagg_table) + uint64_t{a.capacity} * entry;
  }
  if (plan.stack_frames) {
    offset = (offset + 63) & ~uint64_t{63};
    plan.stack_offset = static_cast<uint32_t>(offset);
    const uint64_t entry = 8ull * (2u + plan.stack_frames);
    offset += sizeof(pk_dstacks) + uint64_t{plan.stack_capacity + 1} * entry;
  }
  // A page at least: clauses with no state (output only) still need the
  // agent's D state (its thread slots, the output records).
  plan.part_bytes = static_cast<uint32_t>(std::max<uint64_t>((offset + 4095) & ~uint64_t{4095}, 4096));
  return plan;
}

namespace {

// Whether the clause calls exit() (its later clauses then check the firing's exit word).
bool calls_exit(Clause& c) {
  struct Walk : Visitor<Walk> {
    bool found = false;
    void visit_call(Expr& e) {
      found = found || e.text == "exit";  // by name: an aggregating call's id is no Fn
      visit_children(e);
    }
  } walk;
  walk.visit_clause(c);
  return walk.found;
}

}  // namespace

std::optional<std::vector<uint8_t>> agent_code(ProgramAst& ast, const Symbols& symbols, AgentPlan& plan,
                                               const ProbeEntry& probe, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<std::vector<uint8_t>> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  if (probe.flow != ProbeEntry::Flow::entry && probe.flow != ProbeEntry::Flow::ret)
    return fail("only pid entry and return probes run in the agent");
  std::vector<uint8_t> code;
  std::set<uint32_t> this_used;
  bool exits = false;  // a clause before this one calls exit()
  for (uint32_t ci : probe.clauses) {
    if (ci >= plan.clause_ready.size() || !plan.clause_ready[ci])
      return fail("clause " + std::to_string(ci + 1) + ": " +
                  (ci < plan.clause_why.size() ? plan.clause_why[ci] : std::string("unknown")));
    Gen g(plan, symbols, &probe, false);
    g.guard_exit = exits;
    if (!g.clause(ast.clauses[ci], ci)) return fail("clause " + std::to_string(ci + 1) + ": " + g.why);
    exits = exits || calls_exit(ast.clauses[ci]);
    code.insert(code.end(), g.code.begin(), g.code.end());
    this_used.insert(g.this_used.begin(), g.this_used.end());
  }
  if (code.empty()) return fail("no clause");
  // this-> variables start at 0 at each firing: IMM 0, SETSELF w (jumps
  // are relative: code can go before the clauses).
  std::vector<uint8_t> clear;
  for (uint32_t w : this_used) {
    clear.push_back(PK_OP_IMM);
    clear.insert(clear.end(), 8, 0);
    clear.push_back(PK_OP_SETSELF);
    clear.push_back(static_cast<uint8_t>(w));
    clear.push_back(static_cast<uint8_t>(w >> 8));
  }
  code.insert(code.begin(), clear.begin(), clear.end());
  code.push_back(PK_OP_END);
  return code;
}

bool agent_overrides(ProgramAst& ast, const ProbeEntry& probe) {
  struct Walk : Visitor<Walk> {
    bool found = false;
    void visit_call(Expr& e) {
      found = found || static_cast<Fn>(e.id) == Fn::override;
      visit_children(e);
    }
  } walk;
  for (uint32_t ci : probe.clauses)
    if (ci < ast.clauses.size()) walk.visit_clause(ast.clauses[ci]);
  return walk.found;
}

bool agent_reads_return_offset(ProgramAst& ast, const ProbeEntry& probe) {
  if (probe.flow != ProbeEntry::Flow::ret) return false;
  struct Walk : Visitor<Walk> {
    bool found = false;
    void visit_ident(Expr& e) {
      found = found || (e.slot < 0 && e.id == static_cast<int>(Var::arg0));
      visit_children(e);
    }
    void visit_call(Expr& e) {
      found = found || e.text == "ustack";  // its first frame is the returning instruction
      visit_children(e);
    }
  } walk;
  for (uint32_t ci : probe.clauses)
    if (ci < ast.clauses.size()) walk.visit_clause(ast.clauses[ci]);
  return walk.found;
}

}  // namespace probekit::d
