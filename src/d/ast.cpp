#include "d/ast.h"

namespace probekit::d {

const char* to_string(Op op) {
  switch (op) {
  case Op::none: return "=";
  case Op::add: return "+";
  case Op::sub: return "-";
  case Op::mul: return "*";
  case Op::div: return "/";
  case Op::mod: return "%";
  case Op::band: return "&";
  case Op::bor: return "|";
  case Op::bxor: return "^";
  case Op::shl: return "<<";
  case Op::shr: return ">>";
  case Op::land: return "&&";
  case Op::lor: return "||";
  case Op::lxor: return "^^";
  case Op::eq: return "==";
  case Op::ne: return "!=";
  case Op::lt: return "<";
  case Op::le: return "<=";
  case Op::gt: return ">";
  case Op::ge: return ">=";
  case Op::neg: return "-";
  case Op::plus: return "+";
  case Op::lnot: return "!";
  case Op::bnot: return "~";
  case Op::deref: return "*";
  case Op::addr: return "&";
  case Op::inc: return "++";
  case Op::dec: return "--";
  }
  return "?";
}

namespace {

const char* kind_name(ExprKind k) {
  switch (k) {
  case ExprKind::integer: return "integer";
  case ExprKind::string: return "string";
  case ExprKind::macro: return "macro";
  case ExprKind::ident: return "ident";
  case ExprKind::self_var: return "self";
  case ExprKind::this_var: return "this";
  case ExprKind::index: return "index";
  case ExprKind::call: return "call";
  case ExprKind::agg_ref: return "aggref";
  case ExprKind::agg_set: return "aggset";
  case ExprKind::unary: return "unary";
  case ExprKind::binary: return "binary";
  case ExprKind::ternary: return "ternary";
  case ExprKind::assign: return "assign";
  case ExprKind::incdec: return "incdec";
  case ExprKind::cast: return "cast";
  case ExprKind::sizeof_type: return "sizeof";
  case ExprKind::sizeof_expr: return "sizeof";
  case ExprKind::stringof: return "stringof";
  case ExprKind::member: return "member";
  case ExprKind::if_stmt: return "if";
  case ExprKind::block: return "block";
  case ExprKind::xlate: return "xlate";
  }
  return "?";
}

}  // namespace

std::string dump(const Expr& e) {
  std::string out = "(";
  out += kind_name(e.kind);
  switch (e.kind) {
  case ExprKind::integer: out += " " + std::to_string(e.ival); break;
  case ExprKind::string: out += " \"" + e.text + "\""; break;
  case ExprKind::macro:
  case ExprKind::ident:
  case ExprKind::self_var:
  case ExprKind::this_var:
  case ExprKind::index:
  case ExprKind::member:
  case ExprKind::call: out += " " + e.text; break;
  case ExprKind::agg_ref:
  case ExprKind::agg_set: out += " @" + e.text; break;
  case ExprKind::unary:
  case ExprKind::binary: out += std::string(" ") + to_string(e.op); break;
  case ExprKind::assign: out += std::string(" ") + (e.op == Op::none ? "" : to_string(e.op)) + "="; break;
  case ExprKind::incdec: out += std::string(" ") + (e.is_postfix ? "post" : "pre") + to_string(e.op); break;
  case ExprKind::cast:
  case ExprKind::sizeof_type: out += " " + e.cast_type.name(); break;
  default: break;
  }
  for (const auto& k : e.kids) out += " " + dump(*k);
  return out + ")";
}

std::string dump(const ProgramAst& p) {
  std::string out;
  for (const auto& o : p.options) out += "(option " + o.name + " " + o.value + ")\n";
  for (const auto& d : p.decls) {
    static const char* const kClass[] = {"global", "self", "this", "inline", "extern"};
    out += std::string("(decl ") + kClass[static_cast<int>(d.cls)] + " " + d.type.name() + " " + d.name;
    if (d.is_array) {
      out += "[";
      for (size_t i = 0; i < d.keys.size(); ++i) out += (i ? ", " : "") + d.keys[i].name();
      if (d.dim) out += dump(*d.dim);
      out += "]";
    }
    if (d.init) out += " " + dump(*d.init);
    out += ")\n";
  }
  for (const auto& c : p.clauses) {
    out += "(clause";
    for (const auto& d : c.descs) out += " " + d.text;
    if (c.predicate) out += " /" + dump(*c.predicate) + "/";
    for (const auto& s : c.body) out += "\n  " + dump(*s);
    out += ")\n";
  }
  return out;
}

ExprPtr clone(const Expr& e) {
  auto c = std::make_unique<Expr>(e.kind, e.loc);
  c->text = e.text;
  c->ival = e.ival;
  c->op = e.op;
  c->is_postfix = e.is_postfix;
  c->cast_type = e.cast_type;
  c->type = e.type;
  c->id = e.id;
  c->slot = e.slot;
  c->height = e.height;
  for (const auto& k : e.kids) c->kids.push_back(clone(*k));
  return c;
}

}  // namespace probekit::d
