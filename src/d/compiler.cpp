#include "d/compiler.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <set>

#include "d/builtins.h"
#include "d/format.h"
#include "d/passes.h"
#include "util/strings.h"

namespace probekit::d {

namespace {
// The NULL string (strchr() that finds nothing, `s = NULL`): a view with no
// data, kept in a stored Value as i = kNullString. It prints as "" and
// compares less than every string, "" included.
constexpr int64_t kNullString = 1;
constexpr std::string_view kNull{};
bool is_null_string(std::string_view v) { return v.data() == nullptr; }
}  // namespace

// --- Node defaults ------------------------------------------------------------

int64_t Node::eval_int(Exec& x) const {
  x.fault(FaultKind::illegal_op, 0, "internal: integer read of a " + type.name() + " node");
}

std::string_view Node::eval_str(Exec& x, std::string& scratch) const {
  (void)scratch;
  x.fault(FaultKind::illegal_op, 0, "internal: string read of a " + type.name() + " node");
}

Value Node::eval_value(Exec& x) const {
  switch (type.kind) {
  case Type::Kind::string: {
    std::string s;
    auto v = eval_str(x, s);
    Value out = v.data() == s.data() && v.size() == s.size() ? Value::string(std::move(s)) : Value::string(std::string(v));
    out.i = is_null_string(v);
    return out;
  }
  case Type::Kind::pointer: return Value::unsigned_integer(static_cast<uint64_t>(eval_int(x)), 8);
  // A recorded or stored value has its type's size (dt_cg_store_val).
  case Type::Kind::integer: return Value::integer(normalize_to(type, eval_int(x)), type.size, type.is_signed);
  case Type::Kind::floating: return Value::floating_bits(static_cast<uint64_t>(eval_int(x)), type.size);
  default: x.fault(FaultKind::illegal_op, 0, "internal: value read of a " + type.name() + " node");
  }
}

void Node::eval_into(Exec& x, Value& out) const {
  switch (type.kind) {
  case Type::Kind::string: {
    out.kind = Value::Kind::string;
    auto v = eval_str(x, out.s);
    if (v.data() != out.s.data() || v.size() != out.s.size()) out.s.assign(v.data(), v.size());
    out.i = is_null_string(v);
    return;
  }
  case Type::Kind::pointer:
  case Type::Kind::integer:
    out.kind = Value::Kind::integer;
    out.i = normalize_to(type, eval_int(x));  // recorded at its type's size (dt_cg_store_val)
    out.size = type.size;
    out.is_signed = type.is_signed && type.kind == Type::Kind::integer;
    return;
  default: out = eval_value(x);
  }
}

void Node::exec_counted(Exec& x, uint64_t n) const {
  assert(false && "exec_counted on a statement that does not only count");
  (void)x;
  (void)n;
}

void Node::exec(Exec& x) const {
  switch (type.kind) {
  case Type::Kind::none: return;
  case Type::Kind::string: {
    std::string s;
    (void)eval_str(x, s);
    return;
  }
  case Type::Kind::integer:
  case Type::Kind::floating:
  case Type::Kind::pointer: (void)eval_int(x); return;
  default: (void)eval_value(x); return;
  }
}

namespace {

bool is_zero(const Value& v) {
  return (v.kind == Value::Kind::integer && v.i == 0) ||
         ((v.kind == Value::Kind::string || v.kind == Value::Kind::stack) && v.s.empty()) ||
         (v.kind == Value::Kind::symbol && v.i == 0 && v.s.empty());
}

Value zero_of(const Type& t) {
  switch (t.kind) {
  case Type::Kind::string: return Value::string("");
  case Type::Kind::stack: {
    Value v;
    v.kind = Value::Kind::stack;
    return v;
  }
  case Type::Kind::symbol: {
    Value v;
    v.kind = Value::Kind::symbol;
    return v;
  }
  default: return Value::integer(0, t.size ? t.size : 8, t.is_signed);
  }
}

const std::string& empty_string() {
  static const std::string s;
  return s;
}

bool all_record_safe(const std::vector<NodePtr>& nodes, RecordNeeds& needs) {
  return std::all_of(nodes.begin(), nodes.end(), [&](const NodePtr& n) { return n->record_safe(needs); });
}

// --- constants and built-in variables -------------------------------------------

class IntConst : public Node {
public:
  bool record_safe(RecordNeeds&) const override { return true; }
  IntConst(Type t, int64_t v) : Node(t), v_(normalize_to(t, v)) {}
  int64_t eval_int(Exec&) const override { return v_; }
  bool probe_constant() const override { return true; }

private:
  int64_t v_;
};

class StrConst : public Node {
public:
  bool record_safe(RecordNeeds&) const override { return true; }
  explicit StrConst(std::string s) : Node(Type::string()), s_(std::move(s)) {}
  // A string value is at most strsize bytes, a literal's too (dtrace-utils'
  // funcs/strlen/tst.capped-sizw: strlen("123456789") is 5 at strsize=5):
  // what it is stored as, compared as, keyed by, as the agent's SLIT is.
  std::string_view eval_str(Exec& x, std::string&) const override {
    return std::string_view(s_).substr(0, x.rt.strsize);
  }
  bool probe_constant() const override { return true; }

private:
  std::string s_;
};

class BuiltinVar : public Node {
public:
  // ucaller and ustackdepth walk the stack in the target's memory.
  bool record_safe(RecordNeeds&) const override { return var_ != Var::ucaller && var_ != Var::ustackdepth; }
  int register_word() const override {
    // arg0..arg5 at an entry: rdi rsi rdx rcx r8 r9 (fill_entry_args)
    const int i = static_cast<int>(var_) - static_cast<int>(Var::arg0);
    return i >= 0 && i < 6 ? kEntryArgWord[i] : -1;
  }
  BuiltinVar(Type t, Var v) : Node(t), var_(v) {}
  bool probe_constant() const override {
    return var_ == Var::probeprov || var_ == Var::probemod || var_ == Var::probefunc || var_ == Var::probename;
  }

  int64_t eval_int(Exec& x) const override {
    HitContext* hit = x.ctx.hit;
    int64_t v = 0;
    switch (var_) {
    case Var::timestamp:
    case Var::vtimestamp: v = static_cast<int64_t>(x.now); break;
    case Var::walltimestamp: v = static_cast<int64_t>(x.rt.host->walltime_ns()); break;
    case Var::pid: v = hit ? hit->pid() : x.rt.host->tracer_pid(); break;
    case Var::ppid: v = hit ? hit->ppid() : x.rt.host->proc_info(x.rt.host->tracer_pid(), x.rt.host->tracer_pid()).ppid; break;
    case Var::tid: v = hit ? hit->tid() : x.rt.host->tracer_pid(); break;
    case Var::uid: v = x.rt.host->uid_of(hit ? hit->pid() : x.rt.host->tracer_pid()); break;
    case Var::gid: v = x.rt.host->gid_of(hit ? hit->pid() : x.rt.host->tracer_pid()); break;
    case Var::arg0:
    case Var::arg1:
    case Var::arg2:
    case Var::arg3:
    case Var::arg4:
    case Var::arg5:
    case Var::arg6:
    case Var::arg7:
    case Var::arg8:
    case Var::arg9:
      v = static_cast<int64_t>(x.ctx.args[static_cast<int>(var_) - static_cast<int>(Var::arg0)]);
      break;
    case Var::errno_: v = x.ctx.errno_value; break;
    case Var::curcpu:
      v = hit ? hit->cpu() : x.ctx.cpu;
      if (type.kind == Type::Kind::pointer) v = static_cast<int64_t>(kCpuInfoBase + static_cast<uint64_t>(v) * kCpuInfoSize);
      break;
    case Var::cpu: v = hit ? hit->cpu() : x.ctx.cpu; break;
    case Var::retval: v = x.ctx.retval; break;
    case Var::epid: v = x.epid; break;
    case Var::id: v = x.probe.id; break;
    case Var::curthread: v = hit ? hit->tid() : 0; break;
    case Var::chip: v = x.rt.host->cpu_chip(static_cast<int>(hit ? hit->cpu() : x.ctx.cpu)); break;
    case Var::pset:
    case Var::lgrp: v = 0; break;  // dtrace-utils leaves them 0 on Linux
    case Var::ucaller: {
      // The return address of the probed function's frame: the second
      // frame of the user stack (0 outside a process).
      if (!hit) break;
      auto pcs = x.rt.host->user_stack(*hit, 2);
      v = pcs.size() > 1 ? static_cast<int64_t>(pcs[1]) : 0;
      break;
    }
    case Var::ustackdepth:
      v = hit ? static_cast<int64_t>(x.rt.host->user_stack(*hit, x.rt.ustackframes_max).size()) : 0;
      break;
    default: break;
    }
    return normalize_to(type, v);
  }

  std::string_view eval_str(Exec& x, std::string&) const override {
    switch (var_) {
    case Var::execname:
      if (x.ctx.hit) return x.ctx.hit->comm();
      return "probekit";
    case Var::probeprov: return x.probe.key.provider;
    case Var::probemod: return x.probe.key.module;
    case Var::probefunc: return x.probe.key.function;
    case Var::probename: return x.probe.key.name;
    default: return empty_string();
    }
  }

private:
  Var var_;
};

// args[N]: arg N as the probe's parameter type says (ProbeArg, from DWARF at
// registration): an int is read at 32 bits and sign-extended, so -1 prints
// -1; without a type it is the 64-bit argN.
class ArgsIndex : public Node {
public:
  bool record_safe(RecordNeeds&) const override { return true; }  // typed args (DWARF) are never recorded
  ArgsIndex(int i, Type t) : Node(t), i_(i) {}
  int64_t eval_int(Exec& x) const override { return value(x).i; }
  Value eval_value(Exec& x) const override { return value(x); }
  void eval_into(Exec& x, Value& out) const override { out = value(x); }

private:
  Value value(Exec& x) const {
    const auto& args = x.probe.args;
    if (args.empty() || static_cast<size_t>(i_) >= args.size())
      return type.is_floating() ? Value::floating_bits(0, type.size) : Value::integer(static_cast<int64_t>(x.ctx.args[i_]));
    auto raw = static_cast<int64_t>(x.ctx.params[i_]);
    const ProbeArg& a = args[static_cast<size_t>(i_)];
    if (type.is_floating()) {
      // Typed double (or float) at compile time: the SSE register's bits.
      uint64_t bits = static_cast<uint64_t>(raw);
      if (type.size == 4) bits &= 0xffffffffULL;
      return Value::floating_bits(a.kind == ProbeArg::Kind::floating ? bits : 0, type.size);
    }
    if (a.kind != ProbeArg::Kind::integer) return Value::unsigned_integer(static_cast<uint64_t>(raw), 8);
    Type t = Type::integer(a.size == 1 || a.size == 2 || a.size == 4 ? a.size : 8, a.is_signed);
    return Value::integer(normalize_to(t, raw), t.size, t.is_signed);
  }
  int i_;
};

// args->FIELD: a field of a kernel tracepoint's raw record, located by the
// probe's ProbeFields (a glob over several tracepoints finds the field at
// each one's own offset). A probe without the field, or a record too short
// for it, is an illegal operation (ERROR fires), not a zero.
class MemberField : public Node {
public:
  MemberField(Type t, std::string name) : Node(t), name_(std::move(name)) {}
  bool record_safe(RecordNeeds&) const override { return true; }
  int64_t eval_int(Exec& x) const override {
    const ProbeField& f = field(x);
    if (f.is_string()) return 0;
    if (uint64_t{f.offset} + f.size > x.ctx.record_size || f.size == 0 || f.size > 8) bad(x);
    uint64_t v = 0;
    std::memcpy(&v, x.ctx.record + f.offset, f.size);
    return normalize_to(type.is_scalar() ? type : Type::integer(static_cast<uint8_t>(f.size), f.is_signed),
                        static_cast<int64_t>(v));
  }
  std::string_view eval_str(Exec& x, std::string& scratch) const override {
    const ProbeField& f = field(x);
    if (!f.is_string()) {
      scratch = std::to_string(eval_int(x));
      return scratch;
    }
    uint64_t start = f.offset, len = f.size;
    if (f.kind != ProbeField::Kind::char_array) {
      if (uint64_t{f.offset} + 4 > x.ctx.record_size) bad(x);
      uint32_t loc = 0;
      std::memcpy(&loc, x.ctx.record + f.offset, 4);
      start = loc & 0xffff;
      len = loc >> 16;
      if (f.kind == ProbeField::Kind::rel_loc) start += uint64_t{f.offset} + 4;
    }
    if (start > x.ctx.record_size) bad(x);
    len = std::min<uint64_t>(len, x.ctx.record_size - start);
    const char* p = reinterpret_cast<const char*>(x.ctx.record + start);
    return std::string_view(p, strnlen(p, len));
  }

private:
  const ProbeField& field(Exec& x) const {
    for (const auto& f : x.probe.fields)
      if (f.name == name_) {
        if (!x.ctx.record) bad(x);
        return f;
      }
    x.fault(FaultKind::illegal_op, 0, "probe " + x.probe.probe_text + " has no field '" + name_ + "'");
  }
  [[noreturn]] void bad(Exec& x) const {
    x.fault(FaultKind::illegal_op, 0, "field '" + name_ + "' lies outside the event's record");
  }
  std::string name_;
};

class Uregs : public Node {
public:
  bool record_safe(RecordNeeds&) const override { return i_ < kXmmRegisterBase; }
  int register_word() const override { return i_ < kRegisterCount ? i_ : -1; }
  explicit Uregs(int i) : Node(Type::integer(8, false)), i_(i) {}
  int64_t eval_int(Exec& x) const override {
    if (!x.ctx.hit) return 0;
    if (i_ >= kXmmRegisterBase) {
      auto fp = x.ctx.hit->fpregs();
      if (!fp) x.fault(FaultKind::illegal_op, 0, "cannot read the SSE registers: " + fp.error().message());
      auto n = static_cast<size_t>(4 * (i_ - kXmmRegisterBase));
      return static_cast<int64_t>(static_cast<uint64_t>(fp->xmm_space[n]) |
                                  static_cast<uint64_t>(fp->xmm_space[n + 1]) << 32);
    }
    const auto& regs = x.ctx.hit->regs();
    uint64_t words[sizeof(regs) / 8];
    std::memcpy(words, &regs, sizeof words);
    return static_cast<int64_t>(words[i_]);
  }

private:
  int i_;
};

// --- variables ---------------------------------------------------------------------

// Storage a statement can write: global scalar, self->, this->, array[keys].
class LValue : public Node {
public:
  using Node::Node;
  // The slot; null when reading something never written (reads as zero).
  virtual Value* ref(Exec& x, bool create) const = 0;
  // Called after storing a zero: arrays free the element, as DTrace does.
  virtual void release(Exec&) const {}
  // Called after every store into ref()'s slot (memory lvalues write it back).
  virtual void written(Exec&) const {}
  // A dynamic variable (self->, an associative array's element): a store
  // of 0 to one that does not exist allocates nothing (dt_get_dvar).
  virtual bool is_dynamic() const { return false; }
  // Storing "" deletes it too (an array's element, not a self-> string).
  virtual bool empty_string_deletes() const { return false; }

  int64_t eval_int(Exec& x) const override {
    const Value* v = ref(x, false);
    return v ? v->i : 0;
  }
  std::string_view eval_str(Exec& x, std::string&) const override {
    const Value* v = ref(x, false);
    if (v && v->kind == Value::Kind::string && v->i == kNullString) return kNull;
    if (!v) return unset_is_null() ? kNull : std::string_view("");
    return v->s;
  }
  // Whether a string never stored (or deleted) reads as NULL: an array
  // element, as dtrace's missing dynamic variable reads as 0.
  virtual bool unset_is_null() const { return false; }
  Value eval_value(Exec& x) const override {
    const Value* v = ref(x, false);
    if (v) return *v;
    Value z = zero_of(type);
    if (type.is_string() && unset_is_null()) z.i = kNullString;
    return z;
  }
};

class GlobalVar : public LValue {
public:
  bool record_safe(RecordNeeds&) const override { return true; }
  GlobalVar(Type t, int slot) : LValue(t), slot_(static_cast<size_t>(slot)) {}
  Value* ref(Exec& x, bool) const override { return &x.rt.globals[slot_]; }
  int64_t eval_int(Exec& x) const override { return x.rt.globals[slot_].i; }

private:
  size_t slot_;
};

class SelfVar : public LValue {
public:
  bool record_safe(RecordNeeds&) const override { return true; }
  SelfVar(Type t, int slot) : LValue(t), slot_(static_cast<size_t>(slot)) {}
  bool unset_is_null() const override { return true; }
  Value* ref(Exec& x, bool create) const override {
    auto* vars = x.thread_vars(create);
    if (!vars) return nullptr;
    uint8_t& live = (*x.self_live)[slot_];
    if (create && !live) {
      // A new dynamic variable: out of dynvarsize, a drop, which ends the
      // clause.
      if (!x.rt.dyn_budget.charge(x.rt.dyn_elem)) throw ClauseDrop{};
      live = 1;
    }
    return &(*vars)[slot_];
  }
  // Storing 0 deletes the variable (dtrace-utils' dt_get_dvar); a string
  // is never deleted by a store, as there (its value is an address).
  void release(Exec& x) const override {
    if (type.is_string() || !x.thread_vars(false)) return;
    uint8_t& live = (*x.self_live)[slot_];
    if (!live) return;
    x.rt.dyn_budget.refund(x.rt.dyn_elem);
    live = 0;
  }
  bool is_dynamic() const override { return true; }

private:
  size_t slot_;
};

class ThisVar : public LValue {
public:
  bool record_safe(RecordNeeds&) const override { return true; }
  ThisVar(Type t, int slot) : LValue(t), slot_(static_cast<size_t>(slot)) {}
  Value* ref(Exec& x, bool) const override { return &x.rt.clause_vars[slot_]; }

private:
  size_t slot_;
};

class ArrayElem : public LValue {
public:
  bool record_safe(RecordNeeds& n) const override { return all_record_safe(keys_, n); }
  // dim: a declared `int a[5]` (its one key must lie in [0, 5)); 0 for an
  // associative array.
  ArrayElem(Type t, int slot, std::vector<NodePtr> keys, int64_t dim = 0)
      : LValue(t), slot_(static_cast<size_t>(slot)), keys_(std::move(keys)), scratch_(keys_.size()), dim_(dim) {}

  Value* ref(Exec& x, bool create) const override {
    for (size_t i = 0; i < keys_.size(); ++i) keys_[i]->eval_into(x, scratch_[i]);
    if (dim_ > 0 && (scratch_[0].i < 0 || scratch_[0].i >= dim_))
      x.fault(FaultKind::bad_index, static_cast<uint64_t>(scratch_[0].i), {});
    ArrayMap& m = x.rt.arrays[slot_];
    auto it = m.find(std::span<const Value>(scratch_));
    if (it != m.end()) return &it->second;
    if (!create) return nullptr;
    // A new element is a dynamic variable: out of dynvarsize, a drop,
    // which ends the clause.
    if (!x.rt.dyn_budget.charge(x.rt.dyn_elem)) throw ClauseDrop{};
    return &m.emplace(Key(scratch_), zero_of(type)).first->second;
  }
  bool unset_is_null() const override { return true; }
  void release(Exec& x) const override {
    ArrayMap& m = x.rt.arrays[slot_];
    auto it = m.find(std::span<const Value>(scratch_));
    if (it == m.end()) return;
    x.rt.dyn_budget.refund(x.rt.dyn_elem);
    m.erase(it);
  }
  bool is_dynamic() const override { return dim_ == 0; }
  bool empty_string_deletes() const override { return dim_ == 0; }

private:

  size_t slot_;
  std::vector<NodePtr> keys_;
  mutable std::vector<Value> scratch_;
  int64_t dim_;
};

// Shared arithmetic. As dtrace-utils computes it (dt_cg_arithmetic_op): in
// 64-bit registers, whatever the operands' D types; a value is narrowed to
// its type only where it is stored, cast or recorded (normalize_to in
// Assign, IncDec, Cast and Node::eval_into), so `1 << 31` is 2147483648
// until an int holds it. `t` (the promoted type) picks signed or unsigned
// division, remainder and right shift.
int64_t arith(Exec& x, Op op, Type t, int64_t a, int64_t b) {
  uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
  bool sign = t.is_signed && t.kind == Type::Kind::integer;
  switch (op) {
  case Op::add: return static_cast<int64_t>(ua + ub);
  case Op::sub: return static_cast<int64_t>(ua - ub);
  case Op::mul: return static_cast<int64_t>(ua * ub);
  case Op::div:
  case Op::mod:
    if (b == 0) x.fault(FaultKind::div_zero, 0);
    if (sign) {
      if (a == INT64_MIN && b == -1) return op == Op::div ? a : 0;
      // DTrace's signed % (dtrace-utils' tst.moddiv): |a| % |b|, negative
      // when the signs differ, where C's follows a's sign alone.
      if (op == Op::mod) return b < 0 ? -(a % b) : a % b;
      return a / b;
    }
    return static_cast<int64_t>(op == Op::div ? ua / ub : ua % ub);
  case Op::band: return a & b;
  case Op::bor: return a | b;
  case Op::bxor: return a ^ b;
  case Op::shl: return static_cast<int64_t>(ua << (ub & 63));
  case Op::shr:
    if (sign) return a >> (ub & 63);
    return static_cast<int64_t>(ua >> (ub & 63));
  default: return 0;
  }
}

class Assign : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return lhs_->record_safe(n) && rhs_->record_safe(n); }
  Assign(Type t, Op op, std::unique_ptr<LValue> lhs, NodePtr rhs)
      : Node(t), op_(op), lhs_(std::move(lhs)), rhs_(std::move(rhs)) {}

  int64_t eval_int(Exec& x) const override {
    // x op= e reads x before it evaluates e, as dtrace's code does
    // (i += i++ adds to i's value before the ++).
    int64_t cur = 0;
    if (op_ != Op::none) {
      const Value* c = lhs_->ref(x, false);
      cur = c ? c->i : 0;
    }
    int64_t v = rhs_->eval_int(x);
    if (op_ != Op::none) v = arith(x, op_, common_type(type, rhs_->type), cur, v);
    v = normalize_to(type, v);
    Value* slot = nullptr;
    if (v == 0 && lhs_->is_dynamic()) {
      // Storing 0 deletes the variable, and creates none that is missing.
      slot = lhs_->ref(x, false);
      if (!slot) return v;
    }
    if (!slot) slot = lhs_->ref(x, true);
    slot->kind = Value::Kind::integer;
    slot->i = v;
    slot->size = type.size;
    slot->is_signed = type.is_signed && type.kind == Type::Kind::integer;
    lhs_->written(x);
    if (v == 0) lhs_->release(x);
    return v;
  }
  std::string_view eval_str(Exec& x, std::string& scratch) const override {
    Value v;
    rhs_->eval_into(x, v);
    Value* slot = lhs_->ref(x, true);
    *slot = std::move(v);
    lhs_->written(x);
    scratch = slot->s;
    const bool null = slot->i == kNullString;
    if (slot->s.empty()) lhs_->release(x);
    return null ? kNull : std::string_view(scratch);
  }
  Value eval_value(Exec& x) const override {
    if (type.is_scalar()) return Node::eval_value(x);
    Value v = rhs_->eval_value(x);
    Value* slot = lhs_->ref(x, true);
    *slot = v;
    lhs_->written(x);
    if (is_zero(v)) lhs_->release(x);
    return v;
  }
  void exec(Exec& x) const override {
    if (type.is_scalar()) {
      (void)eval_int(x);
    } else if (type.is_string()) {
      // Evaluate into a temporary first: the right side may read the slot.
      // The slot is looked up once: a new element that finds no room is
      // one dynamic variable drop.
      Value v;
      rhs_->eval_into(x, v);
      // "" deletes an array's element (release below), creating none.
      Value* slot = nullptr;
      if (v.s.empty() && v.i != kNullString && lhs_->empty_string_deletes()) {
        slot = lhs_->ref(x, false);
        if (!slot) return;
      }
      if (!slot) slot = lhs_->ref(x, true);
      slot->kind = Value::Kind::string;
      slot->s.swap(v.s);
      slot->i = v.i;  // kNullString for s = NULL
      lhs_->written(x);
      if (slot->s.empty()) lhs_->release(x);
    } else {
      (void)eval_value(x);
    }
  }

private:
  Op op_;
  std::unique_ptr<LValue> lhs_;
  NodePtr rhs_;
};

class IncDec : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return lv_->record_safe(n); }
  IncDec(Type t, bool inc, bool postfix, std::unique_ptr<LValue> lv, int64_t step = 1)
      : Node(t), inc_(inc), postfix_(postfix), lv_(std::move(lv)), step_(step) {}
  int64_t eval_int(Exec& x) const override {
    Value* slot = lv_->ref(x, true);
    int64_t old = slot->i;
    const uint64_t delta = inc_ ? static_cast<uint64_t>(step_) : ~static_cast<uint64_t>(step_) + 1;
    int64_t nv = normalize_to(type, static_cast<int64_t>(static_cast<uint64_t>(old) + delta));
    slot->kind = Value::Kind::integer;
    slot->i = nv;
    slot->size = type.size;
    slot->is_signed = type.is_signed && type.kind == Type::Kind::integer;
    lv_->written(x);
    if (nv == 0) lv_->release(x);
    return postfix_ ? old : nv;
  }

private:
  bool inc_, postfix_;
  std::unique_ptr<LValue> lv_;
  int64_t step_;  // a pointer's pointee size, else 1
};

class UregsStore : public Node {
public:
  UregsStore(int reg, NodePtr rhs) : Node(Type::integer(8, false)), reg_(reg), rhs_(std::move(rhs)) {}
  int64_t eval_int(Exec& x) const override {
    int64_t v = rhs_->eval_int(x);
    if (!x.ctx.hit) x.fault(FaultKind::illegal_op, 0, "no registers to modify in this probe");
    auto regs = x.ctx.hit->mutable_regs();
    if (!regs) x.fault(FaultKind::illegal_op, 0, regs.error().message());
    uint64_t words[sizeof(user_regs_struct) / 8];
    std::memcpy(words, *regs, sizeof words);
    words[reg_] = static_cast<uint64_t>(v);
    std::memcpy(*regs, words, sizeof words);
    return v;
  }

private:
  int reg_;
  NodePtr rhs_;
};

// --- operators ---------------------------------------------------------------------

class Unary : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return a_->record_safe(n); }
  Unary(Type t, Op op, NodePtr a) : Node(t), op_(op), a_(std::move(a)) {}
  int64_t eval_int(Exec& x) const override {
    int64_t v = a_->eval_int(x);
    switch (op_) {
    // In 64 bits, as arith().
    case Op::neg: return static_cast<int64_t>(0ULL - static_cast<uint64_t>(v));
    case Op::bnot: return ~v;
    case Op::lnot: return v == 0;
    default: return v;
    }
  }

private:
  Op op_;
  NodePtr a_;
};

class Deref : public Node {
public:
  Deref(Type t, NodePtr p) : Node(t), p_(std::move(p)) {}
  int64_t eval_int(Exec& x) const override {
    uint64_t addr = static_cast<uint64_t>(p_->eval_int(x));
    uint64_t v = 0;
    read_memory(x, addr, &v, type.size);
    return normalize_to(type, static_cast<int64_t>(v));
  }

private:
  NodePtr p_;
};

// curpsinfo->M and curlwpsinfo->M: a member of the process or thread the
// probe fired in (probekit's own outside a process, as DTrace's BEGIN
// sees dtrace), read from /proc by Host::proc_info.
class ProcMemberVar : public Node {
public:
  bool record_safe(RecordNeeds&) const override { return false; }  // /proc of a live process
  ProcMemberVar(Type t, ProcField f) : Node(t), field_(f) {}
  int64_t eval_int(Exec& x) const override {
    HitContext* hit = x.ctx.hit;
    const int pid = hit ? hit->pid() : x.rt.host->tracer_pid();
    const int tid = hit ? hit->tid() : x.rt.host->tracer_pid();
    if (field_ == ProcField::zero) return 0;
    if (field_ == ProcField::pid) return normalize_to(type, pid);
    if (field_ == ProcField::lwpid) return normalize_to(type, tid);
    if (field_ == ProcField::onpro) return normalize_to(type, hit ? hit->cpu() : x.ctx.cpu);
    if (field_ == ProcField::dmodel) return 2;  // PR_MODEL_LP64
    const ProcInfo p = x.rt.host->proc_info(pid, tid);
    // The letters of /proc's state as procfs.d maps the task's state; a
    // thread in probekit's ptrace stop is running as far as it knows.
    const char st = p.state;
    const bool sleeping = st == 'S' || st == 'D' || st == 'I', stopped = st == 'T';
    const bool zombie = st == 'Z' || st == 'X' || st == 'x';
    int64_t v = 0;
    switch (field_) {
    case ProcField::nlwp: v = p.nlwp; break;
    case ProcField::ppid: v = hit ? hit->ppid() : p.ppid; break;
    case ProcField::pgid: v = p.pgid; break;
    case ProcField::sid: v = p.sid; break;
    case ProcField::uid: v = p.uid; break;
    case ProcField::euid: v = p.euid; break;
    case ProcField::gid: v = p.gid; break;
    case ProcField::egid: v = p.egid; break;
    case ProcField::argc: v = p.argc; break;
    case ProcField::argv: v = static_cast<int64_t>(p.argv); break;
    case ProcField::envp: v = static_cast<int64_t>(p.envp); break;
    case ProcField::flag: v = stopped ? 1 : 0; break;  // PR_STOPPED
    case ProcField::state: v = sleeping ? 1 : stopped ? 4 : zombie ? 3 : 2; break;  // SSLEEP SSTOP SZOMB SRUN
    case ProcField::sname: v = sleeping ? 'S' : stopped ? 'T' : zombie ? 'Z' : 'R'; break;
    case ProcField::pri: v = p.prio; break;
    default: break;
    }
    return normalize_to(type, v);
  }
  std::string_view eval_str(Exec& x, std::string& scratch) const override {
    HitContext* hit = x.ctx.hit;
    if (field_ == ProcField::fname || field_ == ProcField::name) {  // the thread's comm, as execname
      if (hit) return hit->comm();
      return "probekit";
    }
    const int pid = hit ? hit->pid() : x.rt.host->tracer_pid();
    scratch = x.rt.host->proc_info(pid, hit ? hit->tid() : pid).psargs;
    return scratch;
  }

private:
  ProcField field_;
};

// s[i]: char i of a string. DTrace holds a string in a strsize buffer,
// zero past its end, and reads s[i] from it unchecked: an index past the
// end but inside the buffer is 0, one outside it a bad address; s[i] of
// the NULL string a bad address i.
class StringIndex : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return s_->record_safe(n) && i_->record_safe(n); }
  StringIndex(NodePtr s, NodePtr i) : Node(Type::integer(1, true)), s_(std::move(s)), i_(std::move(i)) {}
  int64_t eval_int(Exec& x) const override {
    std::string scratch;
    std::string_view v = s_->eval_str(x, scratch);
    int64_t i = i_->eval_int(x);
    // The NULL string has no buffer: s[i] reads address i, as in dtrace.
    if (is_null_string(v)) x.fault(FaultKind::bad_address, static_cast<uint64_t>(i));
    if (i < 0 || static_cast<uint64_t>(i) >= std::max<uint64_t>(x.rt.strsize, v.size() + 1))
      x.fault(FaultKind::bad_address, static_cast<uint64_t>(i));
    if (static_cast<uint64_t>(i) >= v.size()) return 0;
    return static_cast<signed char>(v[static_cast<size_t>(i)]);
  }

private:
  NodePtr s_, i_;
};

// s + n, n + s, s - n: the string from its character n on. As StringIndex,
// DTrace reads it from the string's strsize buffer: an offset past the end
// but inside the buffer is "", one outside it a bad address, as is any
// offset of the NULL string.
// Nested offsets add up first, so (s + 2) - 1 is s + 1, as pointers do.
class StringOffset : public Node {
public:
  struct Term {
    NodePtr n;
    bool negate;
  };
  bool record_safe(RecordNeeds& n) const override {
    return s_->record_safe(n) && std::all_of(terms_.begin(), terms_.end(), [&](const Term& t) { return t.n->record_safe(n); });
  }
  StringOffset(NodePtr s, std::vector<Term> terms) : Node(Type::string()), s_(std::move(s)), terms_(std::move(terms)) {}
  std::string_view eval_str(Exec& x, std::string& scratch) const override {
    std::string_view v = s_->eval_str(x, scratch);
    uint64_t sum = 0;
    for (const Term& t : terms_) {
      const uint64_t k = static_cast<uint64_t>(t.n->eval_int(x));
      sum = t.negate ? sum - k : sum + k;
    }
    const int64_t i = static_cast<int64_t>(sum);
    if (is_null_string(v)) x.fault(FaultKind::bad_address, static_cast<uint64_t>(i));
    if (i < 0 || static_cast<uint64_t>(i) >= std::max<uint64_t>(x.rt.strsize, v.size() + 1))
      x.fault(FaultKind::bad_address, static_cast<uint64_t>(i));
    return v.substr(std::min<size_t>(static_cast<size_t>(i), v.size()));
  }

private:
  NodePtr s_;
  std::vector<Term> terms_;
};

// A string taken as a `char *`: its address, in a strsize + 1 byte buffer
// zero past its end (so p[i] reads as s[i] does), copied into this
// firing's string memory. DTrace's strings have such buffers; ours are
// values, so the buffer is made here.
class StringAddr : public Node {
public:
  StringAddr(Type t, NodePtr s) : Node(t), s_(std::move(s)) {}
  int64_t eval_int(Exec& x) const override {
    std::string scratch;
    std::string_view v = s_->eval_str(x, scratch);
    if (is_null_string(v)) return 0;
    const size_t at = (x.string_mem.size() + 7) & ~size_t{7};
    const size_t room = std::max<size_t>(x.rt.strsize, v.size()) + 1;
    x.string_mem.resize(at, '\0');
    x.string_mem.append(v.data(), v.size());
    x.string_mem.resize(at + room, '\0');
    return static_cast<int64_t>(kStringBase + at);
  }

private:
  NodePtr s_;
};

// An alloca() pointer as an action records it: dtrace-utils' value of one
// is its offset in the scratch space, whose first 8 bytes are reserved (so
// the first allocation is 8, tst.alloca-funcs), and becomes an address only
// where memory is read through it. Ours are addresses from kScratchBase.
class AllocaValue : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return a_->record_safe(n); }
  AllocaValue(Type t, NodePtr a) : Node(t), a_(std::move(a)) {}
  int64_t eval_int(Exec& x) const override {
    const uint64_t v = static_cast<uint64_t>(a_->eval_int(x));
    if (v < kScratchBase || v - kScratchBase > x.rt.scratchsize) return static_cast<int64_t>(v);
    return static_cast<int64_t>(v - kScratchBase + 8);
  }

private:
  NodePtr a_;
};

// A bit-field of the target's types: `width` bits, `shift` bits up in the
// word read, sign-extended when its type is signed.
class BitField : public Node {
public:
  BitField(Type t, NodePtr word, int shift, int width) : Node(t), word_(std::move(word)), shift_(shift), width_(width) {}
  int64_t eval_int(Exec& x) const override {
    uint64_t v = static_cast<uint64_t>(word_->eval_int(x)) >> shift_;
    if (width_ < 64) v &= (uint64_t{1} << width_) - 1;
    if (type.is_signed && width_ < 64 && (v >> (width_ - 1)) & 1) v |= ~uint64_t{0} << width_;
    return static_cast<int64_t>(v);
  }

private:
  NodePtr word_;
  int shift_, width_;
};

class Binary : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return a_->record_safe(n) && b_->record_safe(n); }
  Binary(Type t, Op op, NodePtr a, NodePtr b, int64_t scale_a = 1, int64_t scale_b = 1, int64_t divide = 1)
      : Node(t), op_(op), a_(std::move(a)), b_(std::move(b)), scale_a_(scale_a), scale_b_(scale_b),
        divide_(divide) {}
  int64_t eval_int(Exec& x) const override {
    int64_t a = a_->eval_int(x);
    int64_t b = b_->eval_int(x);
    int64_t v = arith(x, op_, type, a * scale_a_, b * scale_b_);
    return divide_ == 1 ? v : v / divide_;
  }

private:
  Op op_;
  NodePtr a_, b_;
  int64_t scale_a_, scale_b_, divide_;
};

class CompareInt : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return a_->record_safe(n) && b_->record_safe(n); }
  CompareInt(Op op, bool is_signed, NodePtr a, NodePtr b)
      : Node(Type::integer(4, true)), op_(op), signed_(is_signed), a_(std::move(a)), b_(std::move(b)) {}
  int64_t eval_int(Exec& x) const override {
    int64_t a = a_->eval_int(x);
    int64_t b = b_->eval_int(x);
    int c;
    if (signed_) c = a < b ? -1 : a > b ? 1 : 0;
    else {
      uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
      c = ua < ub ? -1 : ua > ub ? 1 : 0;
    }
    return result(op_, c);
  }
  static int64_t result(Op op, int c) {
    switch (op) {
    case Op::eq: return c == 0;
    case Op::ne: return c != 0;
    case Op::lt: return c < 0;
    case Op::le: return c <= 0;
    case Op::gt: return c > 0;
    case Op::ge: return c >= 0;
    default: return 0;
    }
  }

private:
  Op op_;
  bool signed_;
  NodePtr a_, b_;
};

// Floating values of one type (float with float, double with double).
class CompareFloat : public Node {
public:
  CompareFloat(Op op, NodePtr a, NodePtr b) : Node(Type::integer(4, true)), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  int64_t eval_int(Exec& x) const override {
    double l = a_->eval_value(x).as_double();
    double r = b_->eval_value(x).as_double();
    switch (op_) {
    case Op::eq: return l == r;
    case Op::ne: return l != r;
    case Op::lt: return l < r;
    case Op::le: return l <= r;
    case Op::gt: return l > r;
    default: return l >= r;
    }
  }

private:
  Op op_;
  NodePtr a_, b_;
};

class CompareStr : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return a_->record_safe(n) && b_->record_safe(n); }
  CompareStr(Op op, NodePtr a, NodePtr b) : Node(Type::integer(4, true)), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  int64_t eval_int(Exec& x) const override {
    std::string sa, sb;
    std::string_view a = a_->eval_str(x, sa);
    // Copy when the left view could be invalidated by evaluating the right.
    if (a.data() != sa.data() && !is_null_string(a)) {
      sa.assign(a.data(), a.size());
      a = sa;
    }
    std::string_view b = b_->eval_str(x, sb);
    // The NULL string is less than every string and equal to itself.
    int c = is_null_string(a) || is_null_string(b) ? int(!is_null_string(a)) - int(!is_null_string(b)) : a.compare(b);
    return CompareInt::result(op_, c < 0 ? -1 : c > 0 ? 1 : 0);
  }

private:
  Op op_;
  NodePtr a_, b_;
};

class CompareValue : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return a_->record_safe(n) && b_->record_safe(n); }
  CompareValue(Op op, NodePtr a, NodePtr b) : Node(Type::integer(4, true)), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  int64_t eval_int(Exec& x) const override {
    bool eq = a_->eval_value(x) == b_->eval_value(x);
    return op_ == Op::eq ? eq : !eq;
  }

private:
  Op op_;
  NodePtr a_, b_;
};

class Logical : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return a_->record_safe(n) && b_->record_safe(n); }
  Logical(Op op, NodePtr a, NodePtr b) : Node(Type::integer(4, true)), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  int64_t eval_int(Exec& x) const override {
    bool a = a_->eval_int(x) != 0;
    if (op_ == Op::land) return a && b_->eval_int(x) != 0;
    if (op_ == Op::lor) return a || b_->eval_int(x) != 0;
    return a != (b_->eval_int(x) != 0);
  }

private:
  Op op_;
  NodePtr a_, b_;
};

class Ternary : public Node {
public:
  bool record_safe(RecordNeeds& n) const override { return c_->record_safe(n) && a_->record_safe(n) && b_->record_safe(n); }
  Ternary(Type t, NodePtr c, NodePtr a, NodePtr b) : Node(t), c_(std::move(c)), a_(std::move(a)), b_(std::move(b)) {}
  int64_t eval_int(Exec& x) const override {
    return c_->eval_int(x) ? a_->eval_int(x) : b_->eval_int(x);  // the register, as arith()
  }
  std::string_view eval_str(Exec& x, std::string& scratch) const override {
    return c_->eval_int(x) ? a_->eval_str(x, scratch) : b_->eval_str(x, scratch);
  }
  Value eval_value(Exec& x) const override {
    if (type.is_scalar() || type.is_string()) return Node::eval_value(x);
    return c_->eval_int(x) ? a_->eval_value(x) : b_->eval_value(x);
  }

private:
  NodePtr c_, a_, b_;
};

class Cast : public Node {
public:
  int register_word() const override { return a_->register_word(); }
  bool record_safe(RecordNeeds& n) const override { return a_->record_safe(n); }
  Cast(Type t, NodePtr a) : Node(t), a_(std::move(a)) {}
  int64_t eval_int(Exec& x) const override { return normalize_to(type, a_->eval_int(x)); }
  std::string_view eval_str(Exec& x, std::string& scratch) const override { return a_->eval_str(x, scratch); }

private:
  NodePtr a_;
};
// A struct or union variable (Type::object): the address of its bytes,
// `offset` into Runtime::var_mem or, for self->, this thread's thread_mem.
class ObjectAddr : public Node {
public:
  ObjectAddr(Type t, uint64_t base, uint64_t offset) : Node(t), addr_(base + offset) {}
  int64_t eval_int(Exec&) const override { return static_cast<int64_t>(addr_); }

private:
  uint64_t addr_;
};

// &a[i] of a declared array in D memory: the index checked against the
// dimension (DTRACEFLT_BADINDEX, as the array's element would fault).
class ElemAddr : public Node {
public:
  ElemAddr(Type t, uint64_t addr, NodePtr index, uint64_t size, int64_t dim)
      : Node(t), addr_(addr), index_(std::move(index)), size_(size), dim_(dim) {}
  int64_t eval_int(Exec& x) const override {
    const int64_t i = index_->eval_int(x);
    if (i < 0 || i >= dim_) x.fault(FaultKind::bad_index, static_cast<uint64_t>(i), {});
    return static_cast<int64_t>(addr_ + static_cast<uint64_t>(i) * size_);
  }

private:
  uint64_t addr_;
  NodePtr index_;
  uint64_t size_;
  int64_t dim_;
};

// p->m, x.m or *p as an assignment's target: the integer or pointer at an
// address, loaded for ref() and stored back by written() (write_memory:
// only D's own memory takes it).
// A bit-field (width > 0) is `width` bits `shift` bits up in the word:
// read and sign-extended as BitField reads it, stored by putting the low
// `width` bits of the value into the word read again, the other bits kept.
class MemLValue : public LValue {
public:
  MemLValue(Type t, NodePtr addr, int shift = 0, int width = 0)
      : LValue(t), addr_(std::move(addr)), shift_(shift), width_(width) {}
  Value* ref(Exec& x, bool) const override {
    at_ = static_cast<uint64_t>(addr_->eval_int(x));
    uint64_t v = 0;
    read_memory(x, at_, &v, type.size);
    if (width_ > 0) {
      v = (v >> shift_) & mask();
      if (type.is_signed && width_ < 64 && (v >> (width_ - 1)) & 1) v |= ~uint64_t{0} << width_;
    }
    slot_ = Value::integer(normalize_to(type, static_cast<int64_t>(v)), type.size,
                           type.is_signed && type.kind == Type::Kind::integer);
    return &slot_;
  }
  void written(Exec& x) const override {
    uint64_t v = static_cast<uint64_t>(slot_.i);
    if (width_ > 0) {
      uint64_t word = 0;
      read_memory(x, at_, &word, type.size);
      word = (word & ~(mask() << shift_)) | ((v & mask()) << shift_);
      write_memory(x, at_, &word, type.size);
      return;
    }
    write_memory(x, at_, &v, type.size);
  }
  int64_t eval_int(Exec& x) const override { return ref(x, false)->i; }

private:
  uint64_t mask() const { return width_ >= 64 ? ~uint64_t{0} : (uint64_t{1} << width_) - 1; }
  NodePtr addr_;
  int shift_, width_;
  mutable uint64_t at_ = 0;
  mutable Value slot_;
};

// *p = s of a `string *` p: the string's bytes and its NUL, at most
// strsize of them, written at p (D's own memory, as MemLValue's).
class StringMemLValue : public LValue {
public:
  explicit StringMemLValue(NodePtr addr) : LValue(Type::string()), addr_(std::move(addr)) {}
  Value* ref(Exec& x, bool) const override {
    at_ = static_cast<uint64_t>(addr_->eval_int(x));
    slot_ = Value::string("");
    return &slot_;
  }
  void written(Exec& x) const override {
    std::string bytes = slot_.s.substr(0, std::min<size_t>(slot_.s.size(), x.rt.strsize));
    bytes.push_back('\0');
    write_memory(x, at_, bytes.data(), bytes.size());
  }

private:
  NodePtr addr_;
  mutable uint64_t at_ = 0;
  mutable Value slot_;
};

// dst = src for structs and unions: `size` bytes copied, read first (src
// may be the target's memory) and written to D's. No src: dst = 0, which
// deletes a dynamic variable: its bytes read back as zeros.
class ObjectCopy : public Node {
public:
  ObjectCopy(Type t, NodePtr dst, NodePtr src, uint64_t size)
      : Node(t), dst_(std::move(dst)), src_(std::move(src)), size_(size) {}
  int64_t eval_int(Exec& x) const override {
    std::string bytes(static_cast<size_t>(size_), '\0');
    if (src_) read_memory(x, static_cast<uint64_t>(src_->eval_int(x)), bytes.data(), bytes.size());
    uint64_t dst = static_cast<uint64_t>(dst_->eval_int(x));
    write_memory(x, dst, bytes.data(), bytes.size());
    return static_cast<int64_t>(dst);
  }
  void exec(Exec& x) const override { (void)eval_int(x); }

private:
  NodePtr dst_, src_;
  uint64_t size_;
};

// A struct- or union-valued associative array element (a dynamic
// variable), read: the address of its bytes, or of the zero area when it
// does not exist (loading a missing one allocates nothing).
class DynObjectAddr : public Node {
public:
  explicit DynObjectAddr(std::unique_ptr<LValue> elem) : Node(elem->type), elem_(std::move(elem)) {}
  int64_t eval_int(Exec& x) const override {
    const Value* v = elem_->ref(x, false);
    return v && v->i ? v->i : static_cast<int64_t>(kDynObjectBase);
  }

private:
  std::unique_ptr<LValue> elem_;
};

// `a[k] = s` for a struct-valued element: the element is created (charged to
// dynvarsize, a drop when it is full) with bytes of its own, then s's bytes
// are copied in; `a[k] = 0` frees them and deletes the element, as
// dtrace-utils' dt_get_dvar deletes a dynamic variable stored 0.
class DynObjectStore : public Node {
public:
  DynObjectStore(Type t, std::unique_ptr<LValue> elem, NodePtr src, uint64_t size)
      : Node(t), elem_(std::move(elem)), src_(std::move(src)), size_(size) {}
  int64_t eval_int(Exec& x) const override {
    if (!src_) {
      if (Value* v = elem_->ref(x, false)) {
        x.rt.dyn_objects.erase(static_cast<uint64_t>(v->i));
        elem_->release(x);
      }
      return 0;
    }
    std::string bytes(static_cast<size_t>(size_), '\0');
    read_memory(x, static_cast<uint64_t>(src_->eval_int(x)), bytes.data(), bytes.size());
    Value* v = elem_->ref(x, true);
    if (v->i == 0) {
      const uint64_t at = x.rt.dyn_object_next;
      x.rt.dyn_object_next += (std::max<uint64_t>(size_, 1) + 15) & ~uint64_t{15};
      x.rt.dyn_objects.emplace(at, std::string(static_cast<size_t>(size_), '\0'));
      v->i = static_cast<int64_t>(at);
    }
    write_memory(x, static_cast<uint64_t>(v->i), bytes.data(), bytes.size());
    return v->i;
  }
  void exec(Exec& x) const override { (void)eval_int(x); }

private:
  std::unique_ptr<LValue> elem_;
  NodePtr src_;
  uint64_t size_;
};

// `self->s = v` of a struct or union: a dynamic variable, charged to
// dynvarsize at its first store (a drop when full) and refunded when 0 is
// stored (its bytes, in the thread's thread_mem, are zeroed by the copy).
class SelfObjectStore : public Node {
public:
  SelfObjectStore(std::unique_ptr<LValue> var, NodePtr copy, bool zero)
      : Node(copy->type), var_(std::move(var)), copy_(std::move(copy)), zero_(zero) {}
  int64_t eval_int(Exec& x) const override {
    if (!zero_) (void)var_->ref(x, true);
    const int64_t at = copy_->eval_int(x);
    if (zero_) var_->release(x);
    return at;
  }
  void exec(Exec& x) const override { (void)eval_int(x); }

private:
  std::unique_ptr<LValue> var_;
  NodePtr copy_;
  bool zero_;
};

// A struct value as a key: its bytes, held as a string.
class ObjectBytes : public Node {
public:
  ObjectBytes(NodePtr addr, uint64_t size) : Node(Type::string()), addr_(std::move(addr)), size_(size) {}
  std::string_view eval_str(Exec& x, std::string& scratch) const override {
    scratch.assign(static_cast<size_t>(size_), '\0');
    read_memory(x, static_cast<uint64_t>(addr_->eval_int(x)), scratch.data(), scratch.size());
    return scratch;
  }

private:
  NodePtr addr_;
  uint64_t size_;
};

// --- strings and memory -------------------------------------------------------------

}  // namespace

namespace {

// D's own memory holding [addr, addr + len): alloca() scratch, the struct
// variables, this thread's self-> structs; `at` is addr's offset in it.
std::string* d_memory(Exec& x, uint64_t addr, size_t len, size_t& at, bool write = false) {
  std::string* region = nullptr;
  uint64_t base = 0;
  if (addr >= kDynObjectBase && addr < kDynObjectBase + (uint64_t{1} << 40)) {
    if (addr < kDynObjectBase + kDynObjectFirst) {
      if (write) return nullptr;
      region = &x.rt.dyn_zero;
      base = kDynObjectBase;
    } else {
      auto it = x.rt.dyn_objects.upper_bound(addr);
      if (it == x.rt.dyn_objects.begin()) return nullptr;
      --it;
      region = &it->second;
      base = it->first;
    }
  }
  if (addr >= kScratchBase && addr < kScratchBase + (uint64_t{1} << 40)) {
    region = &x.scratch_mem;
    base = kScratchBase;
  } else if (addr >= kStringBase && addr < kStringBase + (uint64_t{1} << 40)) {
    region = &x.string_mem;
    base = kStringBase;
  } else if (addr >= kVarBase && addr < kVarBase + (uint64_t{1} << 40)) {
    region = &x.rt.var_mem;
    base = kVarBase;
  } else if (addr >= kThreadVarBase && addr < kThreadVarBase + (uint64_t{1} << 40) && x.rt.thread_mem_size > 0) {
    region = &x.rt.thread_mem[x.tid];
    if (region->size() < x.rt.thread_mem_size) region->resize(x.rt.thread_mem_size, '\0');
    base = kThreadVarBase;
  }
  if (!region || addr - base > region->size() || len > region->size() - (addr - base)) return nullptr;
  at = static_cast<size_t>(addr - base);
  return region;
}

}  // namespace

void read_memory(Exec& x, uint64_t addr, void* buf, size_t len) {
  if (addr >= kCpuInfoBase && addr < kCpuInfoBase + (uint64_t{1} << 40)) {
    // curcpu's cpuinfo_t, made up as dtrace-utils fills it (dt_conf_init):
    // the CPU's id and physical package, no processor set or locality group.
    const uint64_t cpu = (addr - kCpuInfoBase) / kCpuInfoSize, off = (addr - kCpuInfoBase) % kCpuInfoSize;
    if (off + len > kCpuInfoSize) x.fault(FaultKind::bad_address, addr);
    const int32_t entry[4] = {static_cast<int32_t>(cpu), 0, x.rt.host->cpu_chip(static_cast<int>(cpu)), 0};
    if (len) std::memcpy(buf, reinterpret_cast<const char*>(entry) + off, len);
    return;
  }
  size_t at = 0;
  if (std::string* m = d_memory(x, addr, len, at)) {
    if (len) std::memcpy(buf, m->data() + at, len);
    return;
  }
  if (addr >= kVarBase && addr < kVarBase + (uint64_t{1} << 40) && len < (uint64_t{1} << 40)) {
    // Past the end of the variables' memory (((int *)a)[10] of an int
    // a[5]): a read works, as dtrace-utils' reads past a declared array in
    // its global variables' map do (arrays/tst.declared-bounds.oob-cast);
    // what no variable holds reads as zeroes. Only a store faults.
    const std::string& m = x.rt.var_mem;
    const uint64_t off = addr - kVarBase;
    std::memset(buf, 0, len);
    if (off < m.size()) std::memcpy(buf, m.data() + off, std::min<uint64_t>(len, m.size() - off));
    return;
  }
  if (!x.ctx.hit) x.fault(FaultKind::bad_address, addr);
  auto n = x.ctx.hit->read(addr, buf, len);
  if (!n || *n != len) x.fault(FaultKind::bad_address, addr);
}

void write_memory(Exec& x, uint64_t addr, const void* buf, size_t len) {
  size_t at = 0;
  std::string* m = d_memory(x, addr, len, at, true);
  if (!m) x.fault(FaultKind::bad_address, addr);
  if (len) std::memcpy(m->data() + at, buf, len);
}

namespace {

std::string read_target_string(Exec& x, uint64_t addr, size_t max) {
  size_t at = 0;
  if (std::string* m = d_memory(x, addr, 1, at)) {
    std::string_view rest(*m);
    rest.remove_prefix(at);
    return std::string(rest.substr(0, std::min({max, rest.find('\0'), rest.size()})));
  }
  if (!x.ctx.hit) x.fault(FaultKind::bad_address, addr);
  auto s = x.ctx.hit->read_string(addr, max);
  if (!s) x.fault(FaultKind::bad_address, addr);
  std::string out = std::move(*s);
  if (out.size() > max) out.resize(max);
  return out;
}

class Stringof : public Node {
public:
  bool record_safe(RecordNeeds& n) const override {
    if (a_->type.is_string() || a_->type.kind == Type::Kind::symbol) return a_->record_safe(n);
    if (null_ok_) return dynamic_cast<const IntConst*>(a_.get()) != nullptr;  // NULL itself
    const int reg = a_->register_word();  // the string at a register's value
    if (reg < 0 || !a_->record_safe(n)) return false;
    n.string_regs.push_back(reg);
    return true;
  }
  // null_ok: a pointer or 0 met as a string (s == NULL), 0 reading as the
  // NULL string rather than faulting.
  Stringof(NodePtr a, bool null_ok) : Node(Type::string()), a_(std::move(a)), null_ok_(null_ok) {}
  std::string_view eval_str(Exec& x, std::string& scratch) const override {
    if (a_->type.is_string()) return a_->eval_str(x, scratch);
    if (null_ok_ && a_->eval_int(x) == 0) return kNull;
    if (a_->type.kind == Type::Kind::symbol) {
      scratch = a_->eval_value(x).s;
      return scratch;
    }
    scratch = read_target_string(x, static_cast<uint64_t>(a_->eval_int(x)), x.rt.strsize);
    return scratch;
  }

private:
  NodePtr a_;
  bool null_ok_;
};

// dtrace's cleanpath(): the path with "//", "." and ".." resolved by
// text alone (a rooted path's ".." stops at "/"); "" stays "" and a
// relative path that resolves to nothing is ".".
std::string clean_path(std::string_view path) {
  const bool rooted = !path.empty() && path[0] == '/';
  std::vector<std::string_view> parts;
  size_t at = 0;
  while (at <= path.size()) {
    size_t end = path.find('/', at);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(at, end - at);
    at = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!rooted) parts.push_back(part);
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  if (out.empty() && !path.empty()) out = ".";
  return out;
}

}  // namespace

std::string symbol_text(std::string s, Fn which) {
  // HitContext writes "module:func+0x10"; DTrace writes "module`func+0x10".
  auto colon = s.find(':');
  if (colon != std::string::npos && s.rfind("0x", 0) != 0) s[colon] = '`';
  auto tick = s.find('`');
  switch (which) {
  case Fn::umod: return tick == std::string::npos ? s : s.substr(0, tick);
  case Fn::ufunc:
  case Fn::usym: {
    auto plus = s.rfind('+');
    if (plus != std::string::npos && tick != std::string::npos && plus > tick) s.resize(plus);
    return s;
  }
  default: return s;
  }
}

Value symbol_value(const std::string& symbolized, uint64_t addr, Fn which) {
  Value v;
  v.kind = Value::Kind::symbol;
  v.s = symbol_text(symbolized, which);
  // Keys compare symbols by `i`: make it the identity of what is shown —
  // the function's start for ufunc/usym, the text for umod.
  v.i = static_cast<int64_t>(addr);
  if (which == Fn::ufunc || which == Fn::usym) {
    std::string full = symbol_text(symbolized, Fn::uaddr);
    auto plus = full.rfind("+0x");
    if (plus != std::string::npos) v.i -= static_cast<int64_t>(parse_uint(full.substr(plus + 1)).value_or(0));
  } else if (which == Fn::umod) {
    v.i = static_cast<int64_t>(std::hash<std::string>{}(v.s));
  }
  return v;
}

std::string stack_text(const std::vector<uint64_t>& pcs, const std::function<std::string(uint64_t)>& symbolized,
                       const std::function<std::vector<std::string>(uint64_t)>& inlined) {
  std::string out;
  for (size_t i = 0; i < pcs.size(); ++i) {
    if (i) out += '\n';
    // Functions inlined at this pc (a return address: at its call, one byte back), innermost first.
    const uint64_t at = i ? pcs[i] - 1 : pcs[i];
    for (const auto& name : inlined(at)) out += name + " [inlined]\n";
    out += symbol_text(symbolized(pcs[i]), Fn::uaddr);
  }
  return out;
}

namespace {

class Call : public Node {
public:
  bool record_safe(RecordNeeds& n) const override {
    switch (fn_) {
    case Fn::ustack:
    case Fn::copyin:
    case Fn::inet_ntoa:
    case Fn::inet_ntoa6:
    case Fn::inet_ntop:
    case Fn::link_ntop:
    case Fn::alloca: return false;  // target memory, or this firing's scratch
    case Fn::copyinstr: {
      // A string at a register's value: the agent reads it at the hit.
      const int reg = args_[0]->register_word();
      if (reg < 0 || !all_record_safe(args_, n)) return false;
      n.string_regs.push_back(reg);
      return true;
    }
    default: return all_record_safe(args_, n);
    }
  }
  Call(Type t, Fn fn, std::vector<NodePtr> args, int64_t extra = 0)
      : Node(t), fn_(fn), args_(std::move(args)), extra_(extra) {}

  int64_t eval_int(Exec& x) const override {
    switch (fn_) {
    case Fn::getmajor:
    case Fn::getminor: {
      // The kernel's dev_t: a u32 of a 12-bit major and a 20-bit minor
      // (MINORBITS), as dtrace-utils' getmajor()/getminor() read it.
      const auto dev = static_cast<uint32_t>(args_[0]->eval_int(x));
      return fn_ == Fn::getmajor ? dev >> 20 : dev & 0xfffff;
    }
    case Fn::strlen: {
      std::string s;
      return static_cast<int64_t>(args_[0]->eval_str(x, s).size());
    }
    case Fn::index:
    case Fn::rindex: {
      std::string s1, s2;
      std::string hay(args_[0]->eval_str(x, s1));
      std::string_view needle = args_[1]->eval_str(x, s2);
      int64_t start = args_.size() > 2 ? args_[2]->eval_int(x) : (fn_ == Fn::index ? 0 : static_cast<int64_t>(hay.size()));
      // dtrace-utils: index() starts a negative position at 0, but rindex()
      // finds nothing before position 0.
      if (start < 0) {
        if (fn_ == Fn::rindex) return -1;
        start = 0;
      }
      if (fn_ == Fn::index) {
        if (static_cast<size_t>(start) > hay.size()) return -1;
        auto p = hay.find(needle, static_cast<size_t>(start));
        return p == std::string::npos ? -1 : static_cast<int64_t>(p);
      }
      auto p = hay.rfind(needle, static_cast<size_t>(start));
      return p == std::string::npos ? -1 : static_cast<int64_t>(p);
    }
    case Fn::speculation: {
      for (size_t i = 0; i < x.rt.specs.size(); ++i) {
        if (!x.rt.specs[i].active) {
          x.rt.specs[i] = Speculation{};
          x.rt.specs[i].active = true;
          return static_cast<int64_t>(i + 1);
        }
      }
      ++x.rt.spec_unavailable;
      return 0;
    }
    case Fn::rand: {
      // xorshift64*: deterministic for a given seed (tests seed it).
      uint64_t s = x.rt.rand_state;
      s ^= s >> 12;
      s ^= s << 25;
      s ^= s >> 27;
      x.rt.rand_state = s;
      return normalize_to(type, static_cast<int64_t>((s * 2685821657736338717ULL) >> 33));
    }
    case Fn::copyin: {
      // dtrace-utils' dt_cg_subr_copyin: the bytes go to this firing's
      // scratch space (as alloca() takes it, at most scratchsize - 8), and
      // the copy's address is the value: a string cast of it reads the copy
      // (n bytes, with no NUL of their own).
      uint64_t addr = static_cast<uint64_t>(args_[0]->eval_int(x));
      int64_t n = args_[1]->eval_int(x);
      size_t at = (x.scratch_mem.size() + 7) & ~size_t{7};
      if (n < 0 || static_cast<uint64_t>(n) + 8 > x.rt.scratchsize) {
        char what[64];
        std::snprintf(what, sizeof what, "invalid size (0x%llx)", static_cast<unsigned long long>(n));
        x.fault(FaultKind::bad_size, static_cast<uint64_t>(n), what);
      }
      if (static_cast<uint64_t>(n) > x.rt.scratchsize - std::min(at, x.rt.scratchsize))
        x.fault(FaultKind::no_scratch, 0);
      std::string bytes(static_cast<size_t>(n), '\0');
      read_memory(x, addr, bytes.data(), bytes.size());
      x.scratch_mem.resize(at, '\0');
      x.scratch_mem += bytes;
      return static_cast<int64_t>(kScratchBase + at);
    }
    case Fn::progenyof: {
      // The current process is P or descends from it: its parents are
      // walked up to init (dtrace-utils walks task->real_parent), the first
      // from the hit, the rest from the host (/proc). Without a hit
      // (BEGIN, END, tick) the current process is DTrace's own, as pid says.
      int64_t p = args_[0]->eval_int(x);
      Host& host = *x.rt.host;
      int cur = x.ctx.hit ? x.ctx.hit->pid() : host.tracer_pid();
      int parent = x.ctx.hit ? x.ctx.hit->ppid() : host.proc_info(cur, cur).ppid;
      for (int depth = 0; cur > 0 && depth < 4096; ++depth) {
        if (cur == p) return 1;
        if (parent == cur) break;
        cur = parent;
        if (cur > 0) parent = host.proc_info(cur, cur).ppid;
      }
      return 0;
    }
    // x86-64 is little-endian: host to network order is a byte swap.
    case Fn::htons:
    case Fn::ntohs: return __builtin_bswap16(static_cast<uint16_t>(args_[0]->eval_int(x)));
    case Fn::htonl:
    case Fn::ntohl: return __builtin_bswap32(static_cast<uint32_t>(args_[0]->eval_int(x)));
    case Fn::htonll:
    case Fn::ntohll: return static_cast<int64_t>(__builtin_bswap64(static_cast<uint64_t>(args_[0]->eval_int(x))));
    case Fn::alloca: {
      // DTrace aligns each allocation to 8 bytes and fails the clause when
      // the scratch space is exhausted.
      int64_t n = args_[0]->eval_int(x);
      size_t at = (x.scratch_mem.size() + 7) & ~size_t{7};
      if (n < 0 || static_cast<uint64_t>(n) > x.rt.scratchsize - std::min(at, x.rt.scratchsize))
        x.fault(FaultKind::no_scratch, 0);
      x.scratch_mem.resize(at + static_cast<size_t>(n), '\0');
      return static_cast<int64_t>(kScratchBase + at);
    }
    default: return 0;
    }
  }

  std::string_view eval_str(Exec& x, std::string& scratch) const override {
    switch (fn_) {
    case Fn::copyinstr: {
      // dtrace-utils (dt_cg_subr_copyinstr) copies into a buffer of
      // min(maxsize, strsize) bytes, the last of them the NUL: at most one
      // character fewer than the size (copyinstr(p, 8) is 7 characters).
      // Without maxsize the string is strsize characters, as every other
      // string and the agent's copyinstr(p) (dtrace-utils: strsize - 1).
      uint64_t addr = static_cast<uint64_t>(args_[0]->eval_int(x));
      size_t chars = x.rt.strsize;
      if (args_.size() > 1) {
        int64_t n = args_[1]->eval_int(x);
        size_t size = x.rt.strsize;
        if (n >= 0 && static_cast<size_t>(n) < size) size = static_cast<size_t>(n);
        chars = size ? size - 1 : 0;
      }
      scratch = chars ? read_target_string(x, addr, chars) : std::string();
      return scratch;
    }
    case Fn::strjoin: {
      std::string a;
      std::string_view va = args_[0]->eval_str(x, a);
      std::string joined(va);
      std::string b;
      joined += args_[1]->eval_str(x, b);
      if (joined.size() > x.rt.strsize) joined.resize(x.rt.strsize);
      scratch = std::move(joined);
      return scratch;
    }
    case Fn::substr: {
      std::string s;
      std::string str(args_[0]->eval_str(x, s));
      int64_t len = static_cast<int64_t>(str.size());
      int64_t idx = args_[1]->eval_int(x);
      int64_t n = args_.size() > 2 ? args_[2]->eval_int(x) : len;
      // DTrace: a negative index counts from the end; a negative length
      // leaves that many characters off the end. An index still before the
      // start takes its distance off the length (substr("abcde", -6, 3) is
      // "ab"), as dtrace's dtrace_dif_subr() and dtrace-utils' substr do.
      if (idx < 0) {
        idx += len;
        if (idx < 0) {
          if (args_.size() > 2 && n + idx <= 0) n = 0;
          else if (args_.size() > 2) n += idx;
          idx = 0;
        }
      }
      if (idx > len) idx = len;
      if (n < 0) n = std::max<int64_t>(0, len - idx + n);
      n = std::min(n, len - idx);
      scratch = str.substr(static_cast<size_t>(idx), static_cast<size_t>(n));
      return scratch;
    }
    case Fn::strstr: {
      std::string a, b;
      std::string hay(args_[0]->eval_str(x, a));
      std::string_view needle = args_[1]->eval_str(x, b);
      auto p = hay.find(needle);
      if (p == std::string::npos) return kNull;
      scratch = hay.substr(p);
      return scratch;
    }
    case Fn::strtok: {
      if (args_[0]->type.is_string()) {
        std::string a;
        std::string_view s = args_[0]->eval_str(x, a);
        if (is_null_string(s)) x.fault(FaultKind::bad_address, 0);
        x.rt.strtok_buffer = std::string(s);
        x.rt.strtok_pos = 0;
      } else if (const int64_t p = args_[0]->eval_int(x); p != 0) {
        // A char * (alloca()'d bytes, the target's): the string there, as
        // dtrace reads any pointer strtok() is given.
        if (args_[0]->type.kind != Type::Kind::pointer)
          x.fault(FaultKind::illegal_op, 0, "strtok() takes a string or NULL");
        x.rt.strtok_buffer = read_target_string(x, static_cast<uint64_t>(p), x.rt.strsize);
        x.rt.strtok_pos = 0;
      } else if (x.rt.strtok_buffer.empty() && x.rt.strtok_pos == 0) {
        x.fault(FaultKind::bad_address, 0);  // strtok(NULL, ...) with no string to go on
      }
      std::string d;
      std::string delims(args_[1]->eval_str(x, d));
      const std::string& buf = x.rt.strtok_buffer;
      size_t p = buf.find_first_not_of(delims, x.rt.strtok_pos);
      if (p == std::string::npos) {
        x.rt.strtok_pos = buf.size();
        return kNull;  // no token left: NULL
      }
      size_t e = buf.find_first_of(delims, p);
      if (e == std::string::npos) e = buf.size();
      scratch = buf.substr(p, e - p);
      // The next call starts at the delimiter that ended this token, which
      // its own delimiters may not skip (dtrace's strtok.S).
      x.rt.strtok_pos = e;
      return scratch;
    }
    case Fn::basename:
    case Fn::dirname: {
      std::string a;
      std::string s(args_[0]->eval_str(x, a));
      // POSIX basename/dirname, as DTrace implements them.
      while (s.size() > 1 && s.back() == '/') s.pop_back();
      if (s.empty()) {
        scratch = ".";
        return scratch;
      }
      auto slash = s.rfind('/');
      if (fn_ == Fn::basename) {
        scratch = slash == std::string::npos || s == "/" ? s : s.substr(slash + 1);
      } else if (slash == std::string::npos) {
        scratch = ".";
      } else {
        std::string dir = s.substr(0, slash);
        while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
        scratch = dir.empty() ? "/" : dir;
      }
      return scratch;
    }
    case Fn::toupper:
    case Fn::tolower: {
      std::string a;
      std::string s(args_[0]->eval_str(x, a));
      for (char& c : s)
        c = static_cast<char>(fn_ == Fn::toupper ? std::toupper(static_cast<unsigned char>(c))
                                                  : std::tolower(static_cast<unsigned char>(c)));
      scratch = std::move(s);
      return scratch;
    }
    case Fn::lltostr: {
      int64_t v = args_[0]->eval_int(x);
      int64_t base = args_.size() > 1 ? args_[1]->eval_int(x) : 10;
      if (base < 2 || base > 36) x.fault(FaultKind::illegal_op, 0, "lltostr() base must be from 2 to 36");
      bool neg = base == 10 && v < 0;
      uint64_t u = neg ? 0ULL - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      std::string out;
      do {
        int d = static_cast<int>(u % static_cast<uint64_t>(base));
        out += static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
        u /= static_cast<uint64_t>(base);
      } while (u);
      if (base == 16) out += "x0";
      else if (base == 8) out += "0";
      if (neg) out += '-';
      std::reverse(out.begin(), out.end());
      scratch = std::move(out);
      return scratch;
    }
    case Fn::strchr:
    case Fn::strrchr: {
      // DTrace returns NULL, which prints as "", when the character is absent.
      std::string a;
      std::string s(args_[0]->eval_str(x, a));
      char c = static_cast<char>(args_[1]->eval_int(x));
      auto p = fn_ == Fn::strchr ? s.find(c) : s.rfind(c);
      if (p == std::string::npos) return kNull;
      scratch = s.substr(p);
      return scratch;
    }
    case Fn::inet_ntoa:
    case Fn::inet_ntoa6:
    case Fn::inet_ntop: {
      int family = fn_ == Fn::inet_ntoa ? AF_INET : fn_ == Fn::inet_ntoa6 ? AF_INET6 : 0;
      size_t a = 0;
      if (fn_ == Fn::inet_ntop) {
        family = static_cast<int>(args_[0]->eval_int(x));
        a = 1;
        if (family != AF_INET && family != AF_INET6)
          x.fault(FaultKind::illegal_op, 0, "inet_ntop() address family must be AF_INET or AF_INET6");
      }
      uint8_t bytes[16] = {};
      read_memory(x, static_cast<uint64_t>(args_[a]->eval_int(x)), bytes, family == AF_INET ? 4 : 16);
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(family, bytes, text, sizeof text);
      scratch = text;
      // inet_ntoa6() without strict (its second argument, 0 by default)
      // writes an IPv4-compatible or -mapped address as the bare IPv4
      // address (dtrace-utils' inet_ntoa6.S); glibc writes the strict form.
      if (fn_ == Fn::inet_ntoa6 && (args_.size() < 2 || args_[1]->eval_int(x) == 0) &&
          scratch.find('.') != std::string::npos)
        scratch.erase(0, scratch.rfind(':') + 1);
      return scratch;
    }
    case Fn::link_ntop: {
      // dtrace-utils' link_ntop.S: Ethernet (6 bytes) and InfiniBand (20)
      // addresses as colon-separated hex bytes; another type is an illegal
      // operation.
      const int64_t kind = args_[0]->eval_int(x);
      if (kind != 1 && kind != 32)
        x.fault(FaultKind::illegal_op, 0, "link_ntop() hardware type must be ARPHRD_ETHER or ARPHRD_INFINIBAND");
      uint8_t bytes[20] = {};
      const size_t n = kind == 1 ? 6 : 20;
      read_memory(x, static_cast<uint64_t>(args_[1]->eval_int(x)), bytes, n);
      scratch.clear();
      static const char kHex[] = "0123456789abcdef";
      for (size_t i = 0; i < n; ++i) {
        if (i > 0) scratch += ':';
        scratch += kHex[bytes[i] >> 4];
        scratch += kHex[bytes[i] & 15];
      }
      return scratch;
    }
    case Fn::cleanpath: {
      std::string a;
      scratch = clean_path(args_[0]->eval_str(x, a));
      return scratch;
    }
    default: scratch.clear(); return scratch;
    }
  }

  Value eval_value(Exec& x) const override {
    switch (fn_) {
    case Fn::ufunc:
    case Fn::usym:
    case Fn::umod:
    case Fn::uaddr: {
      uint64_t addr = static_cast<uint64_t>(args_[0]->eval_int(x));
      return symbol_value(x.ctx.hit ? x.ctx.hit->symbolize(addr, true) : hex(addr), addr, fn_);
    }
    case Fn::stack: {
      // The kernel's stack at a probe that fires in user space (sema
      // refuses it at a kernel probe): no frame.
      Value v;
      v.kind = Value::Kind::stack;
      return v;
    }
    case Fn::ustack: {
      Value v;
      v.kind = Value::Kind::stack;
      if (!x.ctx.hit) return v;
      int frames = std::min(extra_ > 0 ? static_cast<int>(extra_) : x.rt.ustackframes, x.rt.ustackframes_max);
      auto pcs = x.rt.host->user_stack(*x.ctx.hit, frames);
      const HitContext& hit = *x.ctx.hit;
      v.s = stack_text(
          pcs, [&](uint64_t pc) { return hit.symbolize(pc, true); },
          [&](uint64_t pc) { return x.rt.host->inline_frames(hit, pc); });
      return v;
    }
    default: return Node::eval_value(x);
    }
  }

  void exec(Exec& x) const override {
    if (fn_ == Fn::ustack || fn_ == Fn::stack || fn_ == Fn::ufunc || fn_ == Fn::usym || fn_ == Fn::umod ||
        fn_ == Fn::uaddr) {
      // ustack(), ufunc(x), usym(x), umod(x) and uaddr(x) as statements are
      // dtrace's data-recording actions (DTRACEACT_USTACK, _UADDR, _USYM,
      // _UMOD): they record their value, as trace() of it does.
      x.rt.emit_prefix(x);
      Value v = eval_value(x);
      x.rt.emit(x, render_trace(v, x.rt.quiet()));
      return;
    }
    Node::exec(x);
  }

private:
  Fn fn_;
  std::vector<NodePtr> args_;
  int64_t extra_;
};

// --- actions ------------------------------------------------------------------------

// A string recorded by trace() or printf() holds at most strsize bytes
// (DTrace records strings in strsize-sized slots).
void clip_string(Value& v, size_t strsize) {
  if (v.kind == Value::Kind::string && v.s.size() > strsize) v.s.resize(strsize);
}

// Why dtrace would refuse setopt(name, value) while tracing, or nullptr:
// an unknown name, an option only the command line or a pragma sets (its
// _dtrace_rtoptions), or a value the option does not take.
const char* runtime_option_error(const std::string& name, const std::string& value, bool has_value) {
  bool takes_value = false;
  if (!is_known_option(name, &takes_value)) return "Invalid option name";
  static const std::set<std::string> while_tracing = {
      "aggrate",  "aggsortkey", "aggsortkeypos", "aggsortpos", "aggsortrev", "flowindent", "quiet",
      "quietresize", "rawbytes", "stackindent", "switchrate", "printsize", "strsize"};
  if (!while_tracing.count(name)) return "Operation illegal when tracing is active";
  if (!has_value) return nullptr;
  const bool ok = name == "aggrate" || name == "switchrate" ? option_rate_ns(value).has_value()
                  : takes_value                              ? option_size(value).has_value()
                                                             : option_switch(value).has_value();
  return ok ? nullptr : "Invalid value for specified option";
}

// tracemem()'s dump, as dtrace(1) prints raw bytes: a header of column
// digits, then 16 bytes a line with their offset and printable characters.
std::string raw_bytes(std::string_view b) {
  if (b.empty()) return {};
  std::string out = "\n" + std::string(5, ' ') + "      ";
  for (int i = 0; i < 16; ++i) {
    out += "  ";
    out += "0123456789abcdef"[i];
  }
  out += "  0123456789abcdef\n";
  char buf[32];
  for (size_t i = 0; i < b.size(); i += 16) {
    std::snprintf(buf, sizeof buf, "%5s%5zx:", "", i);
    out += buf;
    size_t j = i;
    for (; j < i + 16 && j < b.size(); ++j) {
      std::snprintf(buf, sizeof buf, " %02x", static_cast<unsigned char>(b[j]));
      out += buf;
    }
    for (; j % 16; ++j) out += "   ";
    out += "  ";
    for (j = i; j < i + 16 && j < b.size(); ++j) out += b[j] < ' ' || b[j] > '~' ? '.' : b[j];
    out += '\n';
  }
  return out;
}

// The bytes dtrace records for trace()'s value: a string in strsize + 1
// bytes, NUL-padded; an integer in its size, little-endian.
std::string record_bytes(const Value& v, size_t strsize) {
  if (v.kind == Value::Kind::string) {
    std::string b = v.s.substr(0, std::min(v.s.size(), strsize));
    b.resize(strsize + 1, '\0');
    return b;
  }
  std::string b(v.size ? v.size : 8, '\0');
  const uint64_t u = static_cast<uint64_t>(v.i);
  for (size_t i = 0; i < b.size() && i < 8; ++i) b[i] = static_cast<char>(u >> (8 * i));
  return b;
}

std::vector<Value> eval_args(Exec& x, const std::vector<NodePtr>& args, size_t from) {
  std::vector<Value> out;
  out.reserve(args.size() - from);
  for (size_t i = from; i < args.size(); ++i) out.push_back(args[i]->eval_value(x));
  return out;
}

// print(p): the object p points to, read whole (at most 64 KiB) where the
// probe fired and shown as its type's layout says (render_print).
class PrintAction : public Node {
public:
  PrintAction(NodePtr addr, std::vector<PrintMember> layout, uint64_t size, bool value)
      : Node(Type::none()), addr_(std::move(addr)), layout_(std::move(layout)), size_(size), value_(value) {}
  bool record_safe(RecordNeeds&) const override { return false; }  // reads the target's memory
  void exec(Exec& x) const override {
    Runtime& rt = x.rt;
    auto addr = static_cast<uint64_t>(addr_->eval_int(x));
    std::string bytes(static_cast<size_t>(std::min<uint64_t>(size_, 65536)), '\0');
    read_memory(x, addr, bytes.data(), bytes.size());
    std::string text = render_print(layout_, bytes, rt.printsize, addr);
    if (value_) text.erase(0, text.find('\n') + 1);
    rt.emit_prefix(x);
    if (rt.json()) rt.emit(x, "{\"type\":\"print\",\"data\":" + json_quote(text) + "}\n");
    else rt.emit(x, text);
  }

private:
  NodePtr addr_;
  std::vector<PrintMember> layout_;
  uint64_t size_;
  bool value_;
};

class Action : public Node {
public:
  bool record_safe(RecordNeeds& n) const override {
    switch (fn_) {
    case Fn::stop:
    case Fn::raise:
    case Fn::system:
    case Fn::copyout:
    case Fn::copyoutstr:
    case Fn::override:
    case Fn::chill:
    case Fn::tracemem:
    case Fn::bcopy:
    case Fn::copyinto: return false;  // they act on the thread at its hit, or read its memory
    default: return all_record_safe(args_, n);
    }
  }
  Action(Fn fn, std::vector<NodePtr> args, std::string text = {}, std::vector<int> aggs = {})
      : Node(Type::none()), fn_(fn), args_(std::move(args)), text_(std::move(text)), aggs_(std::move(aggs)) {}

  void exec(Exec& x) const override {
    Runtime& rt = x.rt;
    switch (fn_) {
    case Fn::trace: {
      Value v = args_[0]->eval_value(x);
      // The NULL string is no string to record: dtrace reads address 0.
      if (v.kind == Value::Kind::string && v.i == kNullString) x.fault(FaultKind::bad_address, 0);
      clip_string(v, rt.strsize);
      rt.emit_prefix(x);
      if (rt.json()) rt.emit(x, "{\"type\":\"value\",\"data\":" + json_value(v) + "}\n");
      else if (rt.rawbytes && (v.kind == Value::Kind::string || v.kind == Value::Kind::integer))
        rt.emit(x, raw_bytes(record_bytes(v, rt.strsize)));
      else rt.emit(x, render_trace(v, rt.quiet()));
      return;
    }
    case Fn::printf: {
      auto vals = eval_args(x, args_, 1);
      for (auto& v : vals) clip_string(v, rt.strsize);
      auto s = format(text_, vals);
      if (!s) x.fault(FaultKind::illegal_op, 0, s.error().message());
      rt.emit_prefix(x);
      if (rt.json()) rt.emit(x, "{\"type\":\"printf\",\"data\":" + json_quote(*s) + "}\n");
      else rt.emit(x, *s);
      return;
    }
    case Fn::printa: {
      rt.sync();
      rt.snap_aggregations(x.now, x.now + rt.consume_wake_ns);  // read at the consumer's next wake
      const std::vector<Aggregation>& shown = rt.aggrate_ns ? rt.agg_snapshot : rt.aggs;
      std::vector<const Aggregation*> list;
      for (int slot : aggs_) {
        list.push_back(&shown[static_cast<size_t>(slot)]);
        rt.agg_printed[static_cast<size_t>(slot)] = true;
      }
      rt.emit_prefix(x);
      if (rt.json()) {
        for (const auto* a : list) rt.emit(x, a->json() + "\n");
        return;
      }
      if (rt.folded() && text_.empty() && !has_format_) {
        for (const auto* a : list) rt.emit(x, a->folded());
        return;
      }
      if (!text_.empty() || has_format_) {
        auto s = d::printa(text_, list);
        if (!s) x.fault(FaultKind::illegal_op, 0, s.error().message());
        rt.emit(x, *s);
      } else if (list.size() == 1) {
        rt.emit(x, "\n" + list[0]->print());
      } else {
        rt.emit(x, "\n" + print_joined(list));
      }
      return;
    }
    case Fn::exit:
      // exit() records its status (dtrace's DTRACEACT_EXIT): the firing
      // has its line in the default output even when nothing else does.
      rt.emit_prefix(x);
      rt.exit_status = static_cast<int>(args_[0]->eval_int(x));
      if (!rt.exit_requested) {
        rt.exit_requested = true;
        if (rt.on_exit) rt.on_exit();  // the agents' clauses stop too (Program::set_on_exit)
      }
      return;
    case Fn::clear: rt.aggs[static_cast<size_t>(aggs_[0])].clear(); return;
    case Fn::trunc:
      if (args_.empty()) rt.aggs[static_cast<size_t>(aggs_[0])].trunc_all();
      else rt.aggs[static_cast<size_t>(aggs_[0])].trunc(args_[0]->eval_int(x));
      return;
    case Fn::normalize: rt.aggs[static_cast<size_t>(aggs_[0])].normalize(args_[0]->eval_int(x)); return;
    case Fn::denormalize: rt.aggs[static_cast<size_t>(aggs_[0])].denormalize(); return;
    case Fn::setopt: {
      std::string value;
      if (!args_.empty()) {
        std::string s;
        value = std::string(args_[0]->eval_str(x, s));
      }
      // What dtrace's consumer answers to a setopt() it cannot do: an error
      // message for the clause, and the clause goes on (dt_setopt()).
      if (auto why = runtime_option_error(text_, value, !args_.empty())) {
        rt.sink->err("probekit: " + rt.clause_where(x) + ": couldn't set option \"" + text_ + "\" to \"" +
                     (args_.empty() ? std::string("1") : value) + "\": " + why + "\n\n");
        return;
      }
      if (text_ == "quiet") rt.quiet_ = args_.empty() || option_switch(value).value_or(rt.quiet_);
      else if (text_ == "strsize" && option_size(value)) rt.strsize = static_cast<size_t>(*option_size(value));
      else if (text_ == "printsize") rt.printsize = print_size(value);
      // A switch set to no/0/false is unset, as dtrace's dt_opt_runtime.
      bool takes_value = false;
      (void)is_known_option(text_, &takes_value);
      if (!takes_value && !value.empty() && !option_switch(value).value_or(true)) rt.symbols.options.erase(text_);
      else rt.symbols.options[text_] = value;
      rt.rawbytes = rt.symbols.options.count("rawbytes") > 0;
      rt.apply_sort_options();
      return;
    }
    case Fn::speculate: {
      int64_t id = args_[0]->eval_int(x);
      if (id <= 0 || static_cast<size_t>(id) > rt.specs.size() || !rt.specs[static_cast<size_t>(id - 1)].active) {
        // DTrace drops the clause's data silently for a bad speculation.
        x.spec = -1;
        return;
      }
      x.spec = static_cast<int>(id);
      return;
    }
    case Fn::commit:
    case Fn::discard: {
      int64_t id = args_[0]->eval_int(x);
      if (id == 0) return;  // no speculation
      // An ID that is no speculation buffer is dtrace-utils' illegal operation.
      if (id < 0 || static_cast<size_t>(id) > rt.specs.size()) x.fault(FaultKind::illegal_op, 0, {});
      Speculation& s = rt.specs[static_cast<size_t>(id - 1)];
      if (!s.active) return;
      if (fn_ == Fn::commit && !s.buffer.empty()) {
        std::string heading;
        rt.emit_header(heading);
        rt.sink->out(heading + s.buffer);
      }
      s = Speculation{};
      return;
    }
    // stop(), raise() and chill() are records of their own (DTRACEACT_STOP,
    // _RAISE, _CHILL; dt_cg_clsflags marks their clause data-recording):
    // the firing has its line in the default output, as for exit().
    case Fn::stop:
      rt.emit_prefix(x);
      check(x, rt.host->stop(x.ctx));
      return;
    case Fn::raise:
      rt.emit_prefix(x);
      check(x, rt.host->raise(x.ctx, static_cast<int>(args_[0]->eval_int(x))));
      return;
    case Fn::system: {
      auto vals = eval_args(x, args_, 1);
      auto s = format(text_, vals);
      if (!s) x.fault(FaultKind::illegal_op, 0, s.error().message());
      check(x, rt.host->system(*s));
      return;
    }
    case Fn::override: check(x, rt.host->override_return(x.ctx, args_[0]->eval_int(x))); return;
    case Fn::chill:
      rt.emit_prefix(x);
      check(x, rt.host->chill(x.ctx, static_cast<uint64_t>(args_[0]->eval_int(x))));
      return;
    case Fn::freopen: {
      auto vals = eval_args(x, args_, 1);
      auto s = format(text_, vals);
      if (!s) x.fault(FaultKind::illegal_op, 0, s.error().message());
      flush_clause_output(x);
      check(x, rt.sink->reopen(*s));
      return;
    }
    case Fn::ftruncate:
      flush_clause_output(x);
      check(x, rt.sink->truncate());
      return;
    case Fn::tracemem: {
      uint64_t addr = static_cast<uint64_t>(args_[0]->eval_int(x));
      size_t n = static_cast<size_t>(args_[1]->eval_int(x));
      std::string bytes(n, '\0');
      read_memory(x, addr, bytes.data(), n);
      if (args_.size() > 2) {
        // The third argument shortens the dump when it is smaller (and not negative).
        int64_t d = args_[2]->eval_int(x);
        if (d >= 0 && static_cast<uint64_t>(d) < n) bytes.resize(static_cast<size_t>(d));
      }
      rt.emit_prefix(x);
      rt.emit(x, raw_bytes(bytes));
      return;
    }
    case Fn::copyinto: {
      uint64_t src = static_cast<uint64_t>(args_[0]->eval_int(x));
      int64_t n = args_[1]->eval_int(x);
      uint64_t dst = static_cast<uint64_t>(args_[2]->eval_int(x));
      // The destination must be D's memory: alloca()'s or a struct variable's.
      size_t at = 0;
      if (n < 0 || !d_memory(x, dst, static_cast<size_t>(n), at, true)) x.fault(FaultKind::bad_address, dst);
      std::string bytes(static_cast<size_t>(n), '\0');
      read_memory(x, src, bytes.data(), bytes.size());
      write_memory(x, dst, bytes.data(), bytes.size());
      return;
    }
    case Fn::bcopy: {
      // dtrace-utils' rules: the destination must start in this firing's
      // alloca() memory (else a bad address) and the copy end there, as a
      // source in it must (else a bad size). A string is its bytes. The
      // arguments are evaluated in order (tst.bcopy_arg_order).
      std::string bytes;
      uint64_t src = 0;
      if (args_[0]->type.is_string()) bytes = std::string(args_[0]->eval_str(x, bytes));
      else src = static_cast<uint64_t>(args_[0]->eval_int(x));
      const uint64_t dst = static_cast<uint64_t>(args_[1]->eval_int(x));
      const int64_t n = args_[2]->eval_int(x);
      const uint64_t top = kScratchBase + x.scratch_mem.size();
      if (dst < kScratchBase || dst >= top) x.fault(FaultKind::bad_address, dst);
      auto bad_size = [&] {
        char what[64];
        std::snprintf(what, sizeof what, "invalid size (0x%llx)", static_cast<unsigned long long>(n));
        x.fault(FaultKind::bad_size, static_cast<uint64_t>(n), what);
      };
      if (n < 0 || static_cast<uint64_t>(n) > top - dst) bad_size();
      if (args_[0]->type.is_string()) {
        bytes.resize(static_cast<size_t>(n), '\0');
      } else {
        if (src >= kScratchBase && src < top && static_cast<uint64_t>(n) > top - src) bad_size();
        bytes.assign(static_cast<size_t>(n), '\0');
        read_memory(x, src, bytes.data(), bytes.size());
      }
      write_memory(x, dst, bytes.data(), bytes.size());
      return;
    }
    case Fn::copyout:
    case Fn::copyoutstr: {
      Value src = args_[0]->eval_value(x);
      uint64_t addr = static_cast<uint64_t>(args_[1]->eval_int(x));
      int64_t n = args_[2]->eval_int(x);
      if (!x.ctx.hit || n < 0) x.fault(FaultKind::bad_address, addr);
      std::string bytes;
      if (src.kind == Value::Kind::string) {
        bytes = src.s;
        if (fn_ == Fn::copyoutstr) bytes.push_back('\0');
      } else {
        bytes.assign(reinterpret_cast<const char*>(&src.i), sizeof src.i);
      }
      if (bytes.size() > static_cast<size_t>(n)) bytes.resize(static_cast<size_t>(n));
      auto st = x.ctx.hit->write(addr, bytes.data(), bytes.size());
      if (!st) x.fault(FaultKind::bad_address, addr);
      return;
    }
    default: return;
    }
  }

  void set_has_format() { has_format_ = true; }

private:
  // What the clause printed so far goes where output went before a
  // freopen()/ftruncate() (dtrace(1) handles the records in order).
  static void flush_clause_output(Exec& x) {
    if (x.spec != 0 || x.out->empty()) return;
    x.rt.sink->out(*x.out);
    x.out->clear();
  }
  static void check(Exec& x, const Status& s) {
    if (!s) x.fault(FaultKind::illegal_op, 0, s.error().message());
  }
  static std::string json_value(const Value& v) {
    if (v.kind == Value::Kind::floating) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v.as_double());
      return buf;
    }
    if (v.kind == Value::Kind::integer) return v.is_signed ? std::to_string(v.i) : std::to_string(v.u());
    return json_quote(v.s);
  }

  Fn fn_;
  std::vector<NodePtr> args_;
  std::string text_;
  std::vector<int> aggs_;
  bool has_format_ = false;
};

class AggSet : public Node {
public:
  bool record_safe(RecordNeeds& n) const override {
    return all_record_safe(keys_, n) && (!value_ || value_->record_safe(n)) && (!incr_ || incr_->record_safe(n));
  }
  AggSet(int slot, std::vector<NodePtr> keys, NodePtr value, NodePtr incr)
      : Node(Type::none()), slot_(static_cast<size_t>(slot)), keys_(std::move(keys)),
        value_(std::move(value)), incr_(std::move(incr)), scratch_(keys_.size()) {}

  void exec(Exec& x) const override {
    for (size_t i = 0; i < keys_.size(); ++i) keys_[i]->eval_into(x, scratch_[i]);
    int64_t v = value_ ? value_->eval_int(x) : 0;
    int64_t incr = incr_ ? incr_->eval_int(x) : 1;
    x.rt.aggs[slot_].add(std::span<const Value>(scratch_), v, incr);
  }

  bool counts_only(const Runtime& rt) const override {
    return rt.aggs[slot_].func() == AggFunc::count && !value_ && !incr_ &&
           std::all_of(keys_.begin(), keys_.end(), [](const NodePtr& k) { return k->probe_constant(); });
  }
  void exec_counted(Exec& x, uint64_t n) const override {
    for (size_t i = 0; i < keys_.size(); ++i) keys_[i]->eval_into(x, scratch_[i]);
    x.rt.aggs[slot_].add_count(std::span<const Value>(scratch_), n);
  }

private:
  size_t slot_;
  std::vector<NodePtr> keys_;
  NodePtr value_, incr_;
  mutable std::vector<Value> scratch_;
};

// if (cond) { ... } else { ... }: the statements of the branch taken run
// as the clause's own would.
class If : public Node {
public:
  If(NodePtr cond, std::vector<NodePtr> then_body, std::vector<NodePtr> else_body)
      : Node(Type::none()), cond_(std::move(cond)), then_(std::move(then_body)), else_(std::move(else_body)) {}
  void exec(Exec& x) const override {
    for (const auto& s : cond_->eval_int(x) != 0 ? then_ : else_) s->exec(x);
  }

private:
  NodePtr cond_;
  std::vector<NodePtr> then_, else_;
};

// A value an action's argument had where it was computed (the agent,
// d/agent_codegen.h): the action then formats it as it would its own.
class Replayed : public Node {
public:
  Replayed(Type t, const std::vector<Value>* values, size_t index) : Node(t), values_(values), index_(index) {}
  int64_t eval_int(Exec&) const override { return normalize_to(type, (*values_)[index_].i); }
  std::string_view eval_str(Exec&, std::string&) const override {
    const Value& v = (*values_)[index_];
    return v.kind == Value::Kind::string && v.i == kNullString ? kNull : std::string_view(v.s);
  }
  // A symbol the tracer made of the agent's address (Program::agent_output);
  // a string as recorded (the NULL string too).
  Value eval_value(Exec& x) const override {
    if (type.kind == Type::Kind::symbol || type.kind == Type::Kind::stack || type.is_string()) return (*values_)[index_];
    return Node::eval_value(x);
  }
  void eval_into(Exec& x, Value& out) const override {
    if (type.kind == Type::Kind::symbol || type.kind == Type::Kind::stack) out = (*values_)[index_];
    else Node::eval_into(x, out);
  }

private:
  const std::vector<Value>* values_;
  size_t index_;
};

// --- the compiler proper ----------------------------------------------------------------

class Compiler {
public:
  // Action arguments become Replayed values (compile_replay).
  const std::vector<Value>* replay = nullptr;
  // The program's struct layouts, for print().
  const ProgramAst* ast = nullptr;

  NodePtr expr(Expr& e) {
    switch (e.kind) {
    case ExprKind::integer: return std::make_unique<IntConst>(e.type, static_cast<int64_t>(e.ival));
    case ExprKind::string: return std::make_unique<StrConst>(e.text);
    case ExprKind::ident:
      if (e.type.object) return object_var(e);
      if (e.id == kArrayDecay) {
        Expr zero(ExprKind::integer, e.loc);
        zero.type = Type::integer(4, true);
        return element_addr(e.slot, e.type, zero, static_cast<int64_t>(e.ival));
      }
      if (e.slot >= 0) return lvalue(e);
      if (e.id == static_cast<int>(Var::curpsinfo) || e.id == static_cast<int>(Var::curlwpsinfo))
        return std::make_unique<ProcMemberVar>(e.type, static_cast<ProcField>(e.ival));
      return std::make_unique<BuiltinVar>(e.type, static_cast<Var>(e.id));
    case ExprKind::self_var:
    case ExprKind::this_var:
      if (e.id == kArrayDecay) return local_element(e, nullptr);
      return e.type.object ? object_var(e) : lvalue(e);
    case ExprKind::index:
      if (e.id == static_cast<int>(IndexKind::args))
        return std::make_unique<ArgsIndex>(static_cast<int>(e.ival), e.type);
      if (e.id == static_cast<int>(IndexKind::uregs)) return std::make_unique<Uregs>(static_cast<int>(e.ival));
      // r[i] of a declared array of structs is the element's address.
      if (e.type.object && in_memory(e))
        return element_addr(e.slot, e.type, *e.kids[0], static_cast<int64_t>(e.ival));
      if (e.type.object) return std::make_unique<DynObjectAddr>(lvalue(e));
      return lvalue(e);
    case ExprKind::call: return call(e);
    case ExprKind::agg_set: return agg_set(e);
    case ExprKind::unary:
      // *p of a struct pointer is the struct at p: its address.
      if (e.op == Op::deref && e.type.object) return std::make_unique<Cast>(e.type, expr(*e.kids[0]));
      if (e.op == Op::addr && in_memory(*e.kids[0]))
        return element_addr(e.kids[0]->slot, e.type, *e.kids[0]->kids[0], static_cast<int64_t>(e.kids[0]->ival));
      if (is_string_index(e)) return std::make_unique<StringIndex>(expr(*e.kids[0]->kids[0]), expr(*e.kids[0]->kids[1]));
      if (e.op == Op::deref && e.type.is_string()) return std::make_unique<Stringof>(expr(*e.kids[0]), false);
      if (e.op == Op::deref) return std::make_unique<Deref>(e.type, expr(*e.kids[0]));
      return std::make_unique<Unary>(e.type, e.op, expr(*e.kids[0]));
    case ExprKind::binary: return binary(e);
    case ExprKind::ternary:
      return std::make_unique<Ternary>(e.type, expr(*e.kids[0]), expr(*e.kids[1]), expr(*e.kids[2]));
    case ExprKind::assign: {
      Expr& lhs = *e.kids[0];
      if (lhs.kind == ExprKind::index && lhs.id == static_cast<int>(IndexKind::uregs))
        return std::make_unique<UregsStore>(static_cast<int>(lhs.ival), expr(*e.kids[1]));
      if (lhs.type.object && lhs.kind == ExprKind::index && !in_memory(lhs))
        return std::make_unique<DynObjectStore>(e.type, lvalue(lhs),
                                                e.kids[1]->type.object ? expr(*e.kids[1]) : nullptr,
                                                object_size(lhs.type));
      if (lhs.type.object) {
        const bool zero = !e.kids[1]->type.object;  // sema lets only a dynamic variable take 0
        NodePtr copy =
            std::make_unique<ObjectCopy>(e.type, expr(lhs), zero ? nullptr : expr(*e.kids[1]), object_size(lhs.type));
        if (lhs.kind == ExprKind::self_var)
          return std::make_unique<SelfObjectStore>(std::make_unique<SelfVar>(lhs.type, lhs.slot), std::move(copy), zero);
        return copy;
      }
      NodePtr rhs = expr(*e.kids[1]);
      if ((e.op == Op::add || e.op == Op::sub) && lhs.type.kind == Type::Kind::pointer && lhs.type.pointee_size > 1 &&
          e.kids[1]->type.is_integer())
        // p += n moves p by n objects, as p = p + n does.
        rhs = std::make_unique<Binary>(Type::integer(8, true), Op::mul, std::move(rhs),
                                       std::make_unique<IntConst>(Type::integer(8, true),
                                                                  static_cast<int64_t>(lhs.type.pointee_size)));
      return std::make_unique<Assign>(e.type, e.op, lvalue(lhs), std::move(rhs));
    }
    case ExprKind::incdec: {
      // p++ moves a pointer by one object.
      const Type& t = e.kids[0]->type;
      const int64_t step = t.kind == Type::Kind::pointer && t.pointee_size > 1 ? t.pointee_size : 1;
      return std::make_unique<IncDec>(e.type, e.op == Op::inc, e.is_postfix, lvalue(*e.kids[0]), step);
    }
    case ExprKind::cast: {
      if (e.kids[0]->type.is_string() && e.type.kind == Type::Kind::pointer)  // sema's char * of a string
        return std::make_unique<StringAddr>(e.type, expr(*e.kids[0]));
      return std::make_unique<Cast>(e.type, expr(*e.kids[0]));
    }
    case ExprKind::sizeof_type:
    case ExprKind::sizeof_expr: return std::make_unique<IntConst>(Type::integer(8, false), static_cast<int64_t>(e.ival));
    case ExprKind::stringof: return std::make_unique<Stringof>(expr(*e.kids[0]), e.is_postfix);
    case ExprKind::member:
      if (!e.kids.empty()) {  // p->member: the target's memory at p + offset
        NodePtr addr = std::make_unique<Binary>(
            Type::integer(8, false), Op::add, expr(*e.kids[0]),
            std::make_unique<IntConst>(Type::integer(8, false), static_cast<int64_t>(e.ival)));
        if (e.id == kMemberArray || e.id == kMemberObject) return std::make_unique<Cast>(e.type, std::move(addr));
        if (e.id == kMemberBitField)
          return std::make_unique<BitField>(
              e.type, std::make_unique<Deref>(Type::integer(e.type.size, false), std::move(addr)), e.slot / 256,
              e.slot % 256);
        return std::make_unique<Deref>(e.type, std::move(addr));
      }
      return std::make_unique<MemberField>(e.type, e.text);
    case ExprKind::if_stmt: {
      std::vector<NodePtr> then_body, else_body;
      for (auto& s : e.kids[1]->kids) then_body.push_back(expr(*s));
      if (e.kids.size() > 2)
        for (auto& s : e.kids[2]->kids) else_body.push_back(expr(*s));
      return std::make_unique<If>(expr(*e.kids[0]), std::move(then_body), std::move(else_body));
    }
    case ExprKind::block:
    case ExprKind::macro:
    case ExprKind::xlate:  // replaced by sema
    case ExprKind::agg_ref: break;
    }
    return std::make_unique<IntConst>(Type::integer(), 0);
  }

private:
  std::unique_ptr<LValue> lvalue(Expr& e) {
    switch (e.kind) {
    case ExprKind::ident: return std::make_unique<GlobalVar>(e.type, e.slot);
    case ExprKind::self_var: return std::make_unique<SelfVar>(e.type, e.slot);
    case ExprKind::this_var: return std::make_unique<ThisVar>(e.type, e.slot);
    case ExprKind::index: {
      std::vector<NodePtr> keys;
      for (auto& k : e.kids) {
        // A struct key is its bytes, so equal members make equal keys
        // (dtrace-utils' tst.StructAssoc), not its address.
        if (k->type.object) keys.push_back(std::make_unique<ObjectBytes>(expr(*k), object_size(k->type)));
        else keys.push_back(expr(*k));
      }
      if (in_memory(e))
        return std::make_unique<MemLValue>(
            e.type, element_addr(e.slot, Type::integer(8, false), *e.kids[0], static_cast<int64_t>(e.ival)));
      return std::make_unique<ArrayElem>(e.type, e.slot, std::move(keys), static_cast<int64_t>(e.ival));
    }
    case ExprKind::member:  // p->m, x.m: the member's address
      return std::make_unique<MemLValue>(
          e.type,
          std::make_unique<Binary>(Type::integer(8, false), Op::add, expr(*e.kids[0]),
                                   std::make_unique<IntConst>(Type::integer(8, false), static_cast<int64_t>(e.ival))),
          e.id == kMemberBitField ? e.slot / 256 : 0, e.id == kMemberBitField ? e.slot % 256 : 0);
    case ExprKind::unary:  // *p
      if (e.type.is_string()) return std::make_unique<StringMemLValue>(expr(*e.kids[0]));
      return std::make_unique<MemLValue>(e.type, expr(*e.kids[0]));
    default: assert(false && "not an lvalue"); return nullptr;
    }
  }

public:
  // Where each struct or union variable's bytes are: globals and this->
  // ones in Runtime::var_mem, self-> ones in each thread's thread_mem, each
  // at its type's alignment (8).
  void lay_out_objects(const Symbols& syms, Runtime& rt) {
    auto place = [&](const std::vector<VarDecl>& vars, std::vector<uint64_t>& at, uint64_t& end) {
      at.assign(vars.size(), 0);
      for (size_t i = 0; i < vars.size(); ++i) {
        // A declared array of scalars, structs or unions (`int a[5]`,
        // `struct rec r[5]`): its elements, in order.
        const bool elements = declared_elements(vars[i]);
        if (!elements && (!vars[i].type.object || vars[i].is_array)) continue;
        end = (end + 7) & ~uint64_t{7};
        at[i] = end;
        end += elements ? static_cast<uint64_t>(vars[i].dim) * element_bytes(vars[i].type)
                        : std::max<uint64_t>(object_size(vars[i].type), 1);
      }
    };
    arrays_in_memory_.assign(syms.globals.size(), false);
    element_size_.assign(syms.globals.size(), 8);
    for (size_t i = 0; i < syms.globals.size(); ++i) {
      arrays_in_memory_[i] = declared_elements(syms.globals[i]);
      element_size_[i] = element_bytes(syms.globals[i].type);
    }
    uint64_t shared = 0, thread = 0;
    place(syms.globals, global_at_, shared);
    place(syms.clause_vars, this_at_, shared);
    place(syms.thread_vars, self_at_, thread);
    rt.var_mem.assign(static_cast<size_t>(shared), '\0');
    uint64_t largest = 0;
    for (const auto& st : ast ? ast->structs : std::vector<StructType>{}) largest = std::max(largest, st.size);
    rt.dyn_zero.assign(static_cast<size_t>(largest), '\0');
    rt.thread_mem_size = static_cast<size_t>(thread);
  }

private:
  std::vector<uint64_t> global_at_, this_at_, self_at_;
  std::vector<bool> arrays_in_memory_;  // by global slot: a declared array laid out in var_mem
  std::vector<uint64_t> element_size_;  // by global slot: the size of its element

  // a[i] of a declared array whose elements are in D memory.
  bool in_memory(const Expr& e) const {
    return e.kind == ExprKind::index && e.id == static_cast<int>(IndexKind::array) && e.kids.size() == 1 &&
           e.slot >= 0 && static_cast<size_t>(e.slot) < arrays_in_memory_.size() &&
           arrays_in_memory_[static_cast<size_t>(e.slot)];
  }
  NodePtr element_addr(int slot, Type t, Expr& index, int64_t dim) {
    const uint64_t off = slot >= 0 && static_cast<size_t>(slot) < global_at_.size() ? global_at_[static_cast<size_t>(slot)] : 0;
    const uint64_t size = slot >= 0 && static_cast<size_t>(slot) < element_size_.size() ? element_size_[static_cast<size_t>(slot)] : 8;
    return std::make_unique<ElemAddr>(t, kVarBase + off, expr(index), size, dim);
  }

  bool declared_elements(const VarDecl& v) const {
    return v.is_array && v.dim > 0 && (v.type.is_scalar() || v.type.object);
  }
  uint64_t element_bytes(const Type& t) const { return t.object ? object_size(t) : t.size; }
  uint64_t object_size(const Type& t) const {
    return ast && t.tag > 0 && t.tag <= ast->structs.size() ? ast->structs[t.tag - 1u].size : 0;
  }
  // Element i of a this-> or self-> declared array (`this int a[5]`),
  // whose name `a` is e: its address, the bound checked (element 0 when
  // index is null).
  NodePtr local_element(Expr& e, Expr* index) {
    const bool self = e.kind == ExprKind::self_var;
    const auto& at = self ? self_at_ : this_at_;
    const uint64_t off = e.slot >= 0 && static_cast<size_t>(e.slot) < at.size() ? at[static_cast<size_t>(e.slot)] : 0;
    NodePtr i = index ? expr(*index) : std::make_unique<IntConst>(Type::integer(4, true), 0);
    return std::make_unique<ElemAddr>(e.type, (self ? kThreadVarBase : kVarBase) + off, std::move(i),
                                      element_bytes(e.cast_type), static_cast<int64_t>(e.ival));
  }
  NodePtr object_var(Expr& e) {
    const auto& at = e.kind == ExprKind::self_var ? self_at_ : e.kind == ExprKind::this_var ? this_at_ : global_at_;
    const uint64_t off = e.slot >= 0 && static_cast<size_t>(e.slot) < at.size() ? at[static_cast<size_t>(e.slot)] : 0;
    return std::make_unique<ObjectAddr>(e.type, e.kind == ExprKind::self_var ? kThreadVarBase : kVarBase, off);
  }

  // s + n, n + s, s - n (sema's rule), nested ones as one sum.
  NodePtr string_offset(Expr& e, std::vector<StringOffset::Term>& terms) {
    if (e.kind != ExprKind::binary || !e.type.is_string() || (e.op != Op::add && e.op != Op::sub) || e.is_postfix)
      return expr(e);
    const bool left = e.kids[0]->type.is_string();
    NodePtr base = string_offset(*e.kids[left ? 0 : 1], terms);
    terms.push_back({expr(*e.kids[left ? 1 : 0]), e.op == Op::sub});
    return base;
  }

  NodePtr binary(Expr& e) {
    if (e.op == Op::add && e.is_postfix && e.kids[0]->id == kArrayDecay &&
        (e.kids[0]->kind == ExprKind::this_var || e.kids[0]->kind == ExprKind::self_var))
      return local_element(*e.kids[0], e.kids[1].get());  // this->a[i]
    if (e.type.is_string() && (e.op == Op::add || e.op == Op::sub) && !e.is_postfix) {
      std::vector<StringOffset::Term> terms;
      NodePtr base = string_offset(e, terms);
      return std::make_unique<StringOffset>(std::move(base), std::move(terms));
    }
    NodePtr a = expr(*e.kids[0]);
    NodePtr b = expr(*e.kids[1]);
    switch (e.op) {
    case Op::land:
    case Op::lor:
    case Op::lxor: return std::make_unique<Logical>(e.op, std::move(a), std::move(b));
    case Op::eq:
    case Op::ne:
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge:
      if (e.cast_type.is_string()) return std::make_unique<CompareStr>(e.op, std::move(a), std::move(b));
    if (e.cast_type.is_floating()) return std::make_unique<CompareFloat>(e.op, std::move(a), std::move(b));
      if (!e.cast_type.is_scalar()) return std::make_unique<CompareValue>(e.op, std::move(a), std::move(b));
      return std::make_unique<CompareInt>(e.op, e.cast_type.is_signed && e.cast_type.kind == Type::Kind::integer,
                                          std::move(a), std::move(b));
    default: break;
    }
    int64_t sa = 1, sb = 1;
    const Type& ta = e.kids[0]->type;
    const Type& tb = e.kids[1]->type;
    if (e.type.kind == Type::Kind::pointer && e.type.pointee_size > 0) {
      if (ta.kind == Type::Kind::pointer && tb.is_integer()) sb = e.type.pointee_size;
      if (tb.kind == Type::Kind::pointer && ta.is_integer()) sa = e.type.pointee_size;
    }
    int64_t divide = 1;
    if (e.op == Op::sub && ta.kind == Type::Kind::pointer && tb.kind == Type::Kind::pointer && ta.pointee_size > 0)
      divide = ta.pointee_size;
    return std::make_unique<Binary>(e.type, e.op, std::move(a), std::move(b), sa, sb, divide);
  }

  NodePtr call(Expr& e) {
    Fn fn = static_cast<Fn>(e.id);
    const FnInfo* info = find_function(e.text);
    if (fn == Fn::print && info && info->is_action) return print(e);
    if (fn == Fn::trace && !e.kids.empty() && e.kids[0]->type.object) {
      // trace(x) of a struct records its bytes, which dtrace(1) prints as raw bytes.
      std::vector<NodePtr> args;
      args.push_back(expr(*e.kids[0]));
      args.push_back(std::make_unique<IntConst>(Type::integer(8, false), static_cast<int64_t>(object_size(e.kids[0]->type))));
      return std::make_unique<Action>(Fn::tracemem, std::move(args));
    }
    if (info && info->is_action) {
      std::vector<NodePtr> args;
      std::string text;
      std::vector<int> aggs;
      bool has_format = false;
      switch (fn) {
      case Fn::printf:
      case Fn::system:
      case Fn::freopen:
        text = e.kids[0]->text;
        for (size_t i = 1; i < e.kids.size(); ++i) args.push_back(arg(*e.kids[i], true));
        // Keep argument 0's slot empty so indexes line up with the format's.
        args.insert(args.begin(), std::make_unique<IntConst>(Type::integer(), 0));
        break;
      case Fn::printa:
        for (auto& k : e.kids) {
          if (k->kind == ExprKind::string) {
            text = k->text;
            has_format = true;
          } else {
            aggs.push_back(k->slot);
          }
        }
        break;
      case Fn::clear:
      case Fn::trunc:
      case Fn::normalize:
      case Fn::denormalize:
        aggs.push_back(e.kids[0]->slot);
        for (size_t i = 1; i < e.kids.size(); ++i) args.push_back(expr(*e.kids[i]));
        break;
      case Fn::setopt:
        text = e.kids[0]->text;
        for (size_t i = 1; i < e.kids.size(); ++i) args.push_back(expr(*e.kids[i]));
        break;
      default:
        for (auto& k : e.kids) args.push_back(arg(*k, fn == Fn::trace));
      }
      auto a = std::make_unique<Action>(fn, std::move(args), std::move(text), std::move(aggs));
      if (has_format) a->set_has_format();
      return a;
    }
    std::vector<NodePtr> args;
    for (auto& k : e.kids) args.push_back(expr(*k));
    return std::make_unique<Call>(e.type, fn, std::move(args), static_cast<int64_t>(e.ival));
  }

  // print(p): the layout of what p points to (sema checked it has one).
  NodePtr print(Expr& e) {
    const Type& t = e.kids[0]->type;
    const bool value = t.object;  // print(x) of a struct value: no "ADDR = *" line
    std::vector<PrintMember> layout;
    uint64_t size = 0;
    if (ast && t.tag > 0 && t.tag <= ast->structs.size()) {
      const StructType& st = ast->structs[t.tag - 1u];
      layout = st.layout;
      size = st.size;
    } else {
      PrintMember m;
      Type pointee = Type::integer(t.pointee_size ? t.pointee_size : 8, t.pointee_signed);
      m.type_name = pointee.name();
      m.kind = PrintMember::Kind::integer;
      m.size = pointee.size;
      m.is_signed = pointee.is_signed;
      layout.push_back(m);
      size = m.size;
    }
    return std::make_unique<PrintAction>(expr(*e.kids[0]), std::move(layout), size, value);
  }

  // An action's argument; `recorded`: a value it records and prints
  // (trace(), printf()), where an alloca() pointer is dtrace's offset.
  NodePtr arg(Expr& k, bool recorded = false) {
    if (replay) return std::make_unique<Replayed>(k.type, replay, replay_next_++);
    if (recorded && k.alloca && k.type.is_scalar()) return std::make_unique<AllocaValue>(k.type, expr(k));
    return expr(k);
  }
  size_t replay_next_ = 0;

  NodePtr agg_set(Expr& e) {
    Expr& call = *e.kids[0];
    AggFn fn = static_cast<AggFn>(call.id);
    std::vector<NodePtr> keys;
    for (size_t i = 1; i < e.kids.size(); ++i) keys.push_back(expr(*e.kids[i]));
    NodePtr value, incr;
    if (!call.kids.empty()) value = expr(*call.kids[0]);
    size_t incr_at = fn == AggFn::quantize ? 1 : fn == AggFn::lquantize ? 4 : fn == AggFn::llquantize ? 5 : 99;
    if (call.kids.size() > incr_at) incr = expr(*call.kids[incr_at]);
    return std::make_unique<AggSet>(e.slot, std::move(keys), std::move(value), std::move(incr));
  }
};

}  // namespace

NodePtr compile_expr(Expr& e, Runtime&) {
  Compiler c;
  return c.expr(e);
}

NodePtr compile_replay(Expr& call, const std::vector<Value>* values) {
  Compiler c;
  c.replay = values;
  return c.expr(call);
}

std::vector<CompiledClause> compile_clauses(ProgramAst& ast, Runtime& rt) {
  std::vector<CompiledClause> out;
  Compiler c;
  c.ast = &ast;
  c.lay_out_objects(rt.symbols, rt);
  for (auto& cl : ast.clauses) {
    CompiledClause cc;
    if (cl.predicate) cc.predicate = c.expr(*cl.predicate);
    auto records = [](auto& self, const Expr& s) -> bool {
      if (s.kind == ExprKind::if_stmt) {
        for (size_t i = 1; i < s.kids.size(); ++i)
          for (const auto& k : s.kids[i]->kids)
            if (self(self, *k)) return true;
        return false;
      }
      const FnInfo* fn = s.kind == ExprKind::call ? find_function(s.text) : nullptr;
      return fn && fn->records_data;
    };
    size_t speculates = 0, other_actions = 0;
    for (auto& s : cl.body) {
      cc.body.push_back(c.expr(*s));
      if (records(records, *s)) cc.records_data = true;
      const FnInfo* fn = s->kind == ExprKind::call ? find_function(s->text) : nullptr;
      if (fn && fn->is_action) ++(fn->fn == Fn::speculate ? speculates : other_actions);
      if (fn && fn->records_data) {
        // What the record holds: each argument (printf's format is not
        // recorded), a string at strsize.
        for (size_t k = fn->fn == Fn::printf ? 1 : 0; k < s->kids.size(); ++k)
          ++(s->kids[k]->type.is_string() ? cc.record_strings : cc.record_values);
      } else if (fn && (fn->fn == Fn::exit || fn->fn == Fn::raise)) {
        ++cc.record_values;
      }
    }
    cc.empty = cl.body.empty();
    cc.speculates_only = speculates > 0 && other_actions == 0;
    out.push_back(std::move(cc));
  }
  return out;
}

}  // namespace probekit::d
