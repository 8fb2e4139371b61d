// d/ast.h — the syntax tree of a D program, and the visitor passes walk it with.
//
// One node type for expressions, with a kind, as DTrace's dt_node_t: D has
// no statements besides expressions (actions and aggregations are calls and
// assignments), so a uniform node keeps the parser and the passes short.
// Passes fill in the annotation fields (type, slot, id) in place; the
// compiler reads them. Walk a tree with Visitor<Impl> (CRTP, as bpftrace's
// ast/visitor.h): override visit_<kind> for the kinds a pass cares about and
// call visit_children for the rest.
//
// Statements are expressions too, except `if`: an if_stmt's kids are the
// condition and one or two blocks (a block's kids are its statements).
// Declarations (`int x;`, `self int x;`, `inline int N = 5;`, `typedef`)
// are not statements: the parser collects them in ProgramAst::decls, in
// source order, and the semantic pass enters them before it types clauses.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "d/diagnostic.h"
#include "d/types.h"

namespace probekit::d {

enum class ExprKind {
  integer,     // ival, type
  string,      // text
  macro,       // text ("1", "target"); replaced by the macro pass
  ident,       // text: builtin variable, global scalar or constant (R_PC)
  self_var,    // text: self->NAME
  this_var,    // text: this->NAME
  index,       // text: NAME[kids...]: args[], uregs[], global associative array
  call,        // text: function or action name, kids = arguments
  agg_ref,     // text: aggregation name (printa(@a), clear(@a), ...)
  agg_set,     // text: @NAME, kids[0] = call, kids[1..] = keys
  unary,       // op, kids[0]
  binary,      // op, kids[0], kids[1] (logical operators included)
  ternary,     // kids[0] ? kids[1] : kids[2]
  assign,      // op (assign or compound), kids[0] = lvalue, kids[1] = value
  incdec,      // op (plus_plus/minus_minus), is_postfix, kids[0] = lvalue
  cast,        // cast_type, kids[0]
  sizeof_type, // cast_type
  sizeof_expr, // kids[0]
  stringof,    // kids[0]; is_postfix: a pointer or 0 met as a string (0 is the NULL string)
  member,      // text: FIELD of args->FIELD (a kernel tracepoint's field); with kids[0]: p->FIELD,
               // a member of the struct p points to in the target (ival = its offset, from sema),
               // or with is_postfix, x.FIELD of a struct value x; "a.b" names a nested member
  if_stmt,     // kids[0] = condition, kids[1] = then block, kids[2] = else block (optional)
  block,       // kids = statements
  xlate,       // text: the output struct ("struct out"), is_postfix: xlate<T *>, kids[0] = the input;
               // only under a member access, which sema replaces by the translator's expression
};

// Operators reuse the token kinds of lexer.h (Tok::plus, Tok::amp_amp, ...).
enum class Op : uint8_t {
  none, add, sub, mul, div, mod, band, bor, bxor, shl, shr,
  land, lor, lxor, eq, ne, lt, le, gt, ge,
  neg, plus, lnot, bnot, deref, addr,
  inc, dec,
};

const char* to_string(Op op);

// Expr::id of a p->member that is not a plain load: an array (its
// address) or a bit-field (Expr::slot = bit offset * 256 + width).
inline constexpr int kMemberArray = 1;
inline constexpr int kMemberBitField = 2;
// A member that is itself a struct or union: its address (a Type::object).
inline constexpr int kMemberObject = 3;
// Expr::id of the name of a declared array of scalars (`int a[5];` ... `a`):
// the address of its first element, as in C (its elements are D memory).
inline constexpr int kArrayDecay = -2;

struct Expr {
  ExprKind kind;
  Loc loc;
  std::string text;
  uint64_t ival = 0;
  Op op = Op::none;
  bool is_postfix = false;
  Type cast_type;
  std::vector<std::unique_ptr<Expr>> kids;

  // Filled by the semantic pass.
  Type type;
  int id = -1;    // builtin variable / function / register id
  int slot = -1;  // variable or aggregation slot
  int height = 1; // longest path to a leaf; the parser bounds it
  // dtrace's DT_NF_ALLOCA: a pointer derived from alloca() (its value, a
  // variable it was stored in, a cast or offset of one); and
  // DT_NF_NONASSIGN: a ?: whose branches disagree on it, which no variable
  // may take (D_ALLOCA_INCOMPAT).
  bool alloca = false;
  bool nonassign = false;

  Expr(ExprKind k, Loc l) : kind(k), loc(l) {}
};
using ExprPtr = std::unique_ptr<Expr>;

struct ProbeDesc {
  std::string text;  // as written, e.g. "pid$target::malloc:entry"
  Loc loc;
  // After macro expansion, missing leading fields filled with "" (= any).
  std::string provider, module, function, name;
  std::string expanded;  // "pid1234::malloc:entry"
};

struct Clause {
  std::vector<ProbeDesc> descs;
  ExprPtr predicate;  // may be null
  std::vector<ExprPtr> body;
  Loc loc;
  int this_slots = 0;  // this-> variables, counted by sema
};

struct Pragma {
  std::string name;   // "quiet", "bufsize", "nspec", ...
  std::string value;  // "" when given without '='
  Loc loc;
};

// A declaration at program scope (DTrace's dt_node_decl): a typed
// variable, an inline constant, or an extern (typedefs are resolved by the
// parser, which needs type names to parse casts).
struct Decl {
  enum class Class : uint8_t { global, self, this_, inline_, extern_ };
  Class cls = Class::global;
  std::string name;
  Type type;
  bool is_array = false;
  std::vector<Type> keys;  // int a[string, int]: the key types
  std::vector<std::string> params;  // inline int a[int x, int y] = x + y: the keys' names
  ExprPtr dim;             // int a[5]: the dimension (a constant expression)
  ExprPtr init;            // inline: the value
  Loc loc;                 // the declared name
};

// One line of print()'s rendering of a type: the type itself (depth 0),
// then its members in C's order, each nested member after the one that
// holds it (depth 1 = a member, 2 = a member's member), which is the order
// in which DTrace walks a type's CTF (ctf_type_visit) to print it.
struct PrintMember {
  enum class Kind : uint8_t { integer, enumeration, pointer, floating, aggregate, array, other };
  std::string name;       // "" for the type itself
  std::string type_name;  // "int", "char [5]", "struct" (anonymous), "enum eh", "uint64_t"
  int depth = 0;
  Kind kind = Kind::other;
  uint64_t offset = 0;     // bytes from the start of the printed object
  uint64_t size = 0;       // bytes (of one element, for an array)
  bool is_signed = false;
  uint8_t bit_offset = 0, bit_size = 0;  // bit-fields
  // Arrays: the element count, and the element's kind and type name.
  uint64_t count = 0;
  Kind element = Kind::other;
  std::string element_name;
  std::vector<std::pair<int64_t, std::string>> enumerators;  // enums the program declares
};

// A struct or union declared in the program, as `p->member` reads it: each
// member's offset and type (integers and pointers; others have none).
struct StructType {
  std::string name;  // "struct foo"
  struct Field {
    std::string name;
    uint64_t offset = 0;
    Type type;
    // An array member (of the target's types): p->a is its address, a
    // pointer to its first element, so p->a[i] reads element i.
    bool is_array = false;
    // A bit-field: bit_size bits, bit_offset bits above the byte at offset.
    uint8_t bit_offset = 0, bit_size = 0;
    // A struct or union member: that type's Type::tag (x.inner is a value of it).
    uint16_t nested = 0;
  };
  std::vector<Field> fields;
  bool complete = false;
  uint64_t size = 0;
  // print(p): the struct (depth 0) and every member, nested ones included.
  std::vector<PrintMember> layout;
};

// translator OUTPUT < INPUT PARAM > { MEMBER = EXPR; ... }; (DTrace's
// dt_xlator_t): xlate<OUTPUT>(e).MEMBER is EXPR with PARAM standing for e.
struct Translator {
  std::string output;      // "struct out"
  uint16_t output_tag = 0; // its Type::tag
  Type input;              // "struct in *" (a pointer with its tag), an integer or a struct value (object)
  std::string input_name;  // as written, for messages
  std::string param;
  struct Member {
    std::string name;
    Loc loc;
    ExprPtr value;
  };
  std::vector<Member> members;
  Loc loc;
};

struct ProgramAst {
  std::vector<StructType> structs;  // Type::tag - 1
  // The Type::tag of the system's struct cpuinfo (sched.d's cpuinfo_t),
  // which curcpu points to; 0 when there is none (a parser without the
  // system's types, or a program's own struct cpuinfo).
  uint16_t cpuinfo_tag = 0;
  std::vector<Translator> translators;
  std::vector<Clause> clauses;
  std::vector<Pragma> options;
  std::vector<Decl> decls;
};

template <typename Impl>
class Visitor {
public:
  void visit(ProgramAst& p) {
    for (auto& c : p.clauses) impl().visit_clause(c);
  }
  void visit_clause(Clause& c) {
    if (c.predicate) visit(*c.predicate);
    for (auto& s : c.body) visit(*s);
  }
  void visit(Expr& e) {
    switch (e.kind) {
    case ExprKind::integer: return impl().visit_integer(e);
    case ExprKind::string: return impl().visit_string(e);
    case ExprKind::macro: return impl().visit_macro(e);
    case ExprKind::ident: return impl().visit_ident(e);
    case ExprKind::self_var: return impl().visit_self_var(e);
    case ExprKind::this_var: return impl().visit_this_var(e);
    case ExprKind::index: return impl().visit_index(e);
    case ExprKind::call: return impl().visit_call(e);
    case ExprKind::agg_ref: return impl().visit_agg_ref(e);
    case ExprKind::agg_set: return impl().visit_agg_set(e);
    case ExprKind::unary: return impl().visit_unary(e);
    case ExprKind::binary: return impl().visit_binary(e);
    case ExprKind::ternary: return impl().visit_ternary(e);
    case ExprKind::assign: return impl().visit_assign(e);
    case ExprKind::incdec: return impl().visit_incdec(e);
    case ExprKind::cast: return impl().visit_cast(e);
    case ExprKind::sizeof_type: return impl().visit_sizeof_type(e);
    case ExprKind::sizeof_expr: return impl().visit_sizeof_expr(e);
    case ExprKind::stringof: return impl().visit_stringof(e);
    case ExprKind::member: return impl().visit_member(e);
    case ExprKind::if_stmt: return impl().visit_if_stmt(e);
    case ExprKind::block: return impl().visit_block(e);
    case ExprKind::xlate: return impl().visit_xlate(e);
    }
  }
  void visit_children(Expr& e) {
    for (auto& k : e.kids) visit(*k);
  }
  void visit_integer(Expr& e) { visit_children(e); }
  void visit_string(Expr& e) { visit_children(e); }
  void visit_macro(Expr& e) { visit_children(e); }
  void visit_ident(Expr& e) { visit_children(e); }
  void visit_self_var(Expr& e) { visit_children(e); }
  void visit_this_var(Expr& e) { visit_children(e); }
  void visit_index(Expr& e) { visit_children(e); }
  void visit_call(Expr& e) { visit_children(e); }
  void visit_agg_ref(Expr& e) { visit_children(e); }
  void visit_agg_set(Expr& e) { visit_children(e); }
  void visit_unary(Expr& e) { visit_children(e); }
  void visit_binary(Expr& e) { visit_children(e); }
  void visit_ternary(Expr& e) { visit_children(e); }
  void visit_assign(Expr& e) { visit_children(e); }
  void visit_incdec(Expr& e) { visit_children(e); }
  void visit_cast(Expr& e) { visit_children(e); }
  void visit_sizeof_type(Expr& e) { visit_children(e); }
  void visit_sizeof_expr(Expr& e) { visit_children(e); }
  void visit_stringof(Expr& e) { visit_children(e); }
  void visit_member(Expr& e) { visit_children(e); }
  void visit_if_stmt(Expr& e) { visit_children(e); }
  void visit_block(Expr& e) { visit_children(e); }
  void visit_xlate(Expr& e) { visit_children(e); }

private:
  Impl& impl() { return static_cast<Impl&>(*this); }
};

// s[i] of a string (the parser's *(s + i), its sum marked is_postfix, and
// sema's typing): char i of the string, not a memory read.
inline bool is_string_index(const Expr& e) {
  return e.kind == ExprKind::unary && e.op == Op::deref && e.kids.size() == 1 &&
         e.kids[0]->kind == ExprKind::binary && e.kids[0]->op == Op::add && e.kids[0]->is_postfix &&
         e.kids[0]->kids.size() == 2 && e.kids[0]->kids[0]->type.is_string();
}

// The tree printed back as S-expressions, for parser tests:
// "(binary + (ident a) (integer 1))".
std::string dump(const Expr& e);
std::string dump(const ProgramAst& p);

// A deep copy (an inline's value is copied to each place it is used).
ExprPtr clone(const Expr& e);

}  // namespace probekit::d
