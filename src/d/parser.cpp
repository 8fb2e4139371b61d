#include "d/parser.h"

#include <algorithm>

#include "d/builtins.h"
#include "util/strings.h"

namespace probekit::d {

namespace {

struct BinLevel {
  Tok tok;
  Op op;
};

// Binary operators by precedence, lowest first (C's table with D's '^^'
// between '||' and '&&').
const std::vector<std::vector<BinLevel>>& levels() {
  static const std::vector<std::vector<BinLevel>> table = {
      {{Tok::pipe_pipe, Op::lor}},
      {{Tok::caret_caret, Op::lxor}},
      {{Tok::amp_amp, Op::land}},
      {{Tok::pipe, Op::bor}},
      {{Tok::caret, Op::bxor}},
      {{Tok::amp, Op::band}},
      {{Tok::eq_eq, Op::eq}, {Tok::bang_eq, Op::ne}},
      {{Tok::lt, Op::lt}, {Tok::le, Op::le}, {Tok::gt, Op::gt}, {Tok::ge, Op::ge}},
      {{Tok::shl, Op::shl}, {Tok::shr, Op::shr}},
      {{Tok::plus, Op::add}, {Tok::minus, Op::sub}},
      {{Tok::star, Op::mul}, {Tok::slash, Op::div}, {Tok::percent, Op::mod}},
  };
  return table;
}

bool is_qualifier(const Token& t) {
  return t.kind == Tok::identifier && (t.text == "const" || t.text == "volatile");
}

Op assign_op(Tok t) {
  switch (t) {
  case Tok::assign: return Op::none;
  case Tok::plus_assign: return Op::add;
  case Tok::minus_assign: return Op::sub;
  case Tok::star_assign: return Op::mul;
  case Tok::slash_assign: return Op::div;
  case Tok::percent_assign: return Op::mod;
  case Tok::amp_assign: return Op::band;
  case Tok::pipe_assign: return Op::bor;
  case Tok::caret_assign: return Op::bxor;
  case Tok::shl_assign: return Op::shl;
  case Tok::shr_assign: return Op::shr;
  default: return Op::inc;  // not an assignment
  }
}

}  // namespace

std::optional<Type> type_from_words(const std::vector<std::string>& words, int pointer_depth) {
  int longs = 0, shorts = 0, chars = 0, ints = 0, voids = 0, strings = 0;
  int is_unsigned = 0, is_signed = 0;
  std::optional<Type> named;
  for (const auto& w : words) {
    if (w == "long") ++longs;
    else if (w == "short") ++shorts;
    else if (w == "char") ++chars;
    else if (w == "int") ++ints;
    else if (w == "void") ++voids;
    else if (w == "string") ++strings;
    else if (w == "unsigned") ++is_unsigned;
    else if (w == "signed") ++is_signed;
    else {
      if (named) return std::nullopt;
      static const std::vector<std::pair<std::string, Type>> table = {
          {"int8_t", Type::integer(1, true)},     {"int16_t", Type::integer(2, true)},
          {"int32_t", Type::integer(4, true)},    {"int64_t", Type::integer(8, true)},
          {"uint8_t", Type::integer(1, false)},   {"uint16_t", Type::integer(2, false)},
          {"uint32_t", Type::integer(4, false)},  {"uint64_t", Type::integer(8, false)},
          {"intptr_t", Type::integer(8, true)},   {"uintptr_t", Type::integer(8, false)},
          {"size_t", Type::integer(8, false)},    {"ssize_t", Type::integer(8, true)},
          {"pid_t", Type::integer(4, true)},      {"uid_t", Type::integer(4, false)},
          {"gid_t", Type::integer(4, false)},     {"id_t", Type::integer(4, true)},
          {"uchar_t", Type::integer(1, false)},   {"ushort_t", Type::integer(2, false)},
          {"uint_t", Type::integer(4, false)},    {"ulong_t", Type::integer(8, false)},
          {"u_longlong_t", Type::integer(8, false)}, {"longlong_t", Type::integer(8, true)},
          {"off_t", Type::integer(8, true)},      {"caddr_t", Type::pointer(1, true)},
          {"processorid_t", Type::integer(4, true)}, {"bool", Type::integer(1, false)},
          {"_Bool", Type::integer(1, false)},
      };
      for (const auto& [n, t] : table)
        if (n == w) named = t;
      if (!named) return std::nullopt;
    }
  }
  if (is_unsigned + is_signed > 1) return std::nullopt;
  Type base;
  if (named) {
    if (longs || shorts || chars || ints || voids || strings || is_unsigned || is_signed)
      return std::nullopt;
    base = *named;
  } else if (strings) {
    if (strings > 1 || longs || shorts || chars || ints || voids || is_unsigned || is_signed)
      return std::nullopt;
    if (pointer_depth) return std::nullopt;
    return Type::string();
  } else if (voids) {
    if (voids > 1 || longs || shorts || chars || ints || is_unsigned || is_signed) return std::nullopt;
    if (pointer_depth == 0) return Type::none();
    return Type::pointer(0, false);
  } else {
    if (chars > 1 || ints > 1 || shorts > 1 || longs > 2) return std::nullopt;
    if (chars && (shorts || longs || ints)) return std::nullopt;
    if (shorts && longs) return std::nullopt;
    if (chars + shorts + longs + ints + is_unsigned + is_signed == 0) return std::nullopt;
    uint8_t size = chars ? 1 : shorts ? 2 : longs ? 8 : 4;
    base = Type::integer(size, is_unsigned == 0);
  }
  return pointer_to(base, pointer_depth);
}

std::optional<Type> pointer_to(const Type& base, int pointer_depth) {
  if (pointer_depth == 0) return base;
  if (base.is_string()) return std::nullopt;
  if (base.is_none()) return pointer_depth == 1 ? Type::pointer(0, false) : Type::pointer(8, false);
  if (pointer_depth == 1 && base.is_integer()) return Type::pointer(base.size, base.is_signed);
  return Type::pointer(8, false);  // pointer to pointer: reads an address
}

void Parser::advance() { tok_ = lexer_.next(); }
void Parser::advance_probe_desc() { tok_ = lexer_.next_probe_desc(); }

bool Parser::accept(Tok k) {
  if (tok_.kind != k) return false;
  advance();
  return true;
}

void Parser::error_here(const std::string& message) {
  // One error per statement: the lexer's (an invalid character) or the
  // first the parser meets.
  bool reported = failed_statement_ || diags_.error_count() > statement_errors_;
  failed_statement_ = true;
  if (reported) return;
  diags_.error("D_SYNTAX", tok_.loc, message);
}

bool Parser::expect(Tok k, const char* what) {
  if (tok_.kind == k) {
    advance();
    return true;
  }
  std::string got = tok_.kind == Tok::eof ? "end of input" : "'" + tok_.text + "'";
  error_here(std::string("syntax error near ") + got + ": expected " + what);
  return false;
}

ExprPtr Parser::make(ExprKind k, Loc loc) { return std::make_unique<Expr>(k, loc); }

bool Parser::check_height(Expr& e) {
  int h = 0;
  for (const auto& k : e.kids) h = std::max(h, k->height);
  e.height = h + 1;
  if (e.height <= kMaxDepth) return true;
  error_here("expression is nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
  return false;
}

void Parser::sync_statement() {
  int braces = 0;
  while (tok_.kind != Tok::eof) {
    if (tok_.kind == Tok::lbrace) ++braces;
    if (tok_.kind == Tok::rbrace) {
      if (braces == 0) return;
      --braces;
    }
    if (tok_.kind == Tok::semicolon && braces == 0) return;
    advance();
  }
}

void Parser::drain_pragmas(ProgramAst& p) {
  for (auto& line : lexer_.pragmas()) {
    auto words = split_ws(line.text);
    if (words.size() >= 1 && words[0] == "D" && words.size() >= 2 && words[1] == "option") {
      if (words.size() != 3) {
        diags_.error("D_PRAGMA_MALFORM", line.loc,
                     "malformed '#pragma D option': write '#pragma D option name=value'");
        continue;
      }
      Pragma pr;
      pr.loc = line.loc;
      auto eq = words[2].find('=');
      pr.name = words[2].substr(0, eq);
      pr.value = eq == std::string::npos ? "" : words[2].substr(eq + 1);
      p.options.push_back(std::move(pr));
    } else if (words.size() >= 2 && words[0] == "D" &&
               (words[1] == "attributes" || words[1] == "depends_on" || words[1] == "binding")) {
      // Accepted and ignored: stability attributes and dependencies do not
      // change what a program does here.
    } else if (!words.empty() && words[0] == "D") {
      diags_.error("D_PRAGCTL_INVAL", line.loc,
                   "unknown control directive '#pragma " + line.text + "'; use '#pragma D option'");
    }
    // Non-D pragmas are ignored, as C compilers do.
  }
  lexer_.pragmas().clear();
}

ProgramAst Parser::parse_program() {
  ProgramAst prog;
  advance_probe_desc();
  while (tok_.kind != Tok::eof) {
    failed_statement_ = false;
    statement_errors_ = diags_.error_count();
    if (at_declaration()) {
      lexer_.reset_to(tok_);
      advance();
      parse_declaration(prog);
      // What follows is read as a probe description again.
      lexer_.reset_to(tok_);
      advance_probe_desc();
      drain_pragmas(prog);
      continue;
    }
    auto clause = parse_clause();
    if (clause) prog.clauses.push_back(std::move(*clause));
    drain_pragmas(prog);
  }
  drain_pragmas(prog);
  return prog;
}

bool Parser::at_declaration() const {
  if (tok_.kind != Tok::probe_desc || tok_.text.find(':') != std::string::npos) return false;
  size_t n = 0;
  while (n < tok_.text.size() && (std::isalnum(static_cast<unsigned char>(tok_.text[n])) || tok_.text[n] == '_')) ++n;
  std::string word = tok_.text.substr(0, n);
  static const char* const kWords[] = {"extern", "static", "register", "auto",  "typedef", "inline", "self",
                                       "this",   "const",  "volatile", "struct", "union",  "enum"};
  for (const char* w : kWords)
    if (word == w) return true;
  return is_type_word(word) || typedefs_.count(word) > 0;
}

// One declaration at program scope (dt_node_decl's rules): variables get
// their types, inlines their values, typedefs a name the parser then knows.
void Parser::parse_declaration(ProgramAst& prog) {
  Loc start = tok_.loc;
  std::string storage;  // extern, inline, typedef, or a class D refuses
  Decl::Class scope = Decl::Class::global;
  auto fail = [&](const char* id, Loc loc, const std::string& message) {
    if (!failed_statement_) diags_.error(id, loc, message);
    failed_statement_ = true;
    sync_statement();
    accept(Tok::semicolon);
  };
  for (;;) {
    if (tok_.kind == Tok::identifier && (tok_.text == "extern" || tok_.text == "static" || tok_.text == "register" ||
                                         tok_.text == "auto" || tok_.text == "typedef" || tok_.text == "inline")) {
      if (!storage.empty())
        return fail("D_DECL_CLASS", tok_.loc, "only one storage class is allowed in a declaration");
      if (tok_.text == "static" || tok_.text == "register" || tok_.text == "auto")
        return fail("D_DECL_BADCLASS", tok_.loc,
                    "storage class '" + tok_.text + "' is not appropriate in D: declare the variable without it");
      storage = tok_.text;
      advance();
    } else if (tok_.kind == Tok::kw_self || tok_.kind == Tok::kw_this) {
      if (scope != Decl::Class::global || !storage.empty())
        return fail("D_DECL_CLASS", tok_.loc, "'" + tok_.text + "' cannot be combined with '" +
                                                  (storage.empty() ? "self/this" : storage) + "' in a declaration");
      scope = tok_.kind == Tok::kw_self ? Decl::Class::self : Decl::Class::this_;
      advance();
    } else if (is_qualifier(tok_)) {
      advance();
    } else {
      break;
    }
  }
  if (tok_.kind == Tok::identifier && (tok_.text == "struct" || tok_.text == "union" || tok_.text == "enum"))
    return fail("D_SYNTAX", tok_.loc,
                "'" + tok_.text + "' types are not supported: declare variables of integer, pointer or string type");
  // The specifiers: built-in type words or one typedef name.
  std::vector<std::string> words;
  std::optional<Type> named;
  Loc type_loc = tok_.loc;
  for (;;) {
    if (is_qualifier(tok_)) {
      advance();
    } else if (tok_.kind == Tok::kw_type) {
      words.push_back(tok_.text);
      advance();
    } else if (tok_.kind == Tok::identifier && words.empty() && !named && typedefs_.count(tok_.text)) {
      named = typedefs_.at(tok_.text);
      words.push_back(tok_.text);
      advance();
    } else {
      break;
    }
  }
  if (words.empty()) {
    std::string got = tok_.kind == Tok::eof ? "end of input" : "'" + tok_.text + "'";
    return fail("D_SYNTAX", tok_.loc, "syntax error near " + got + ": expected a type name in the declaration");
  }
  if (tok_.kind == Tok::semicolon) {
    advance();
    diags_.error("D_DECL_USELESS", start, "useless declaration: name the variable, e.g. '" + join(words, " ") + " x;'");
    return;
  }
  for (;;) {
    int stars = 0;
    while (tok_.kind == Tok::star || is_qualifier(tok_)) {
      if (tok_.kind == Tok::star) ++stars;
      advance();
    }
    if (tok_.kind != Tok::identifier) {
      std::string got = tok_.kind == Tok::eof ? "end of input" : "'" + tok_.text + "'";
      return fail("D_SYNTAX", tok_.loc, "syntax error near " + got + ": expected the name being declared");
    }
    Decl d;
    d.name = tok_.text;
    d.loc = tok_.loc;
    advance();
    auto type = named ? (words.size() == 1 ? pointer_to(*named, stars) : std::nullopt) : type_from_words(words, stars);
    if (!type)
      return fail("D_DECL_COMBO", type_loc,
                  "invalid type combination '" + join(words, " ") + std::string(static_cast<size_t>(stars), '*') + "'");
    d.type = *type;
    if (typedefs_.count(d.name))
      return fail("D_DECL_IDRED", d.loc, "typedef identifier redeclared: '" + d.name + "' names a type");
    if (tok_.kind == Tok::lbracket) {
      advance();
      d.is_array = true;
      if (tok_.kind == Tok::rbracket)
        return fail("D_DECL_ARRNULL", d.loc,
                    "array declaration requires array dimension or tuple signature: " + d.name + "[5] or " + d.name +
                        "[string]");
      if (at_type_name()) {
        for (;;) {
          auto k = parse_type_name();
          if (!k) return fail("D_SYNTAX", tok_.loc, "");
          d.keys.push_back(*k);
          if (!accept(Tok::comma)) break;
        }
      } else {
        d.dim = parse_expr();
        if (!d.dim) return fail("D_SYNTAX", tok_.loc, "");
      }
      if (!expect(Tok::rbracket, "']' to close the array declaration")) return fail("D_SYNTAX", tok_.loc, "");
    }
    if (storage == "typedef") {
      if (d.is_array)
        return fail("D_DECL_COMBO", d.loc, "array typedefs are not supported: typedef the element type");
      if (typedefs_.count(d.name)) return fail("D_DECL_IDRED", d.loc, "typedef redeclared: " + d.name);
      typedefs_[d.name] = d.type;
    } else {
      if (d.type.is_none()) return fail("D_DECL_VOIDOBJ", d.loc, "cannot have void object: " + d.name);
      if (storage == "inline") d.cls = Decl::Class::inline_;
      else if (storage == "extern") d.cls = Decl::Class::extern_;
      else d.cls = scope;
      if (d.is_array && d.cls == Decl::Class::inline_)
        return fail("D_DECL_COMBO", d.loc, "an inline cannot be an array: declare '" + d.name + "' as a scalar");
      if (d.is_array && (d.cls == Decl::Class::this_ || d.cls == Decl::Class::self))
        return fail("D_DECL_LOCASSC", d.loc,
                    std::string("arrays may not be declared as ") + (d.cls == Decl::Class::self ? "self" : "this") +
                        " variables: " + d.name + "; use a global array keyed by thread (" + d.name + "[tid])");
      if (d.cls == Decl::Class::inline_) {
        if (!expect(Tok::assign, "'=' and the value of the inline")) return fail("D_SYNTAX", tok_.loc, "");
        d.init = parse_assignment();
        if (!d.init) return fail("D_SYNTAX", tok_.loc, "");
      }
      prog.decls.push_back(std::move(d));
    }
    if (accept(Tok::comma)) continue;
    if (tok_.kind == Tok::assign)
      return fail("D_SYNTAX", tok_.loc,
                  "syntax error near '=': D variables cannot be initialized where they are declared; assign them "
                  "in a BEGIN clause");
    if (!expect(Tok::semicolon, "';' after the declaration")) return fail("D_SYNTAX", tok_.loc, "");
    return;
  }
}

std::optional<Clause> Parser::parse_clause() {
  Clause c;
  c.loc = tok_.loc;
  for (;;) {
    if (tok_.kind != Tok::probe_desc) {
      std::string got = tok_.kind == Tok::eof ? "end of input" : "'" + tok_.text + "'";
      error_here("syntax error near " + got + ": expected a probe description such as 'BEGIN' or 'pid$target::main:entry'");
      // Skip to the end of whatever this was.
      while (tok_.kind != Tok::eof && tok_.kind != Tok::rbrace) advance();
      advance_probe_desc();
      return std::nullopt;
    }
    ProbeDesc d;
    d.text = tok_.text;
    d.loc = tok_.loc;
    c.descs.push_back(std::move(d));
    advance_probe_desc();
    if (tok_.kind == Tok::comma) {
      advance_probe_desc();
      continue;
    }
    break;
  }
  if (tok_.kind == Tok::slash) {
    advance();
    in_predicate_ = true;
    c.predicate = parse_expr();
    in_predicate_ = false;
    if (!c.predicate) {
      while (tok_.kind != Tok::eof && tok_.kind != Tok::slash && tok_.kind != Tok::lbrace) advance();
    }
    if (tok_.kind == Tok::slash) advance();
    else expect(Tok::slash, "'/' to close the predicate");
  }
  if (tok_.kind != Tok::lbrace) {
    // DTrace allows a bare description list only at the end of the program
    // (dtrace -n 'BEGIN'): the default action.
    if (tok_.kind == Tok::eof) return c;
    expect(Tok::lbrace, "'{' to start the clause body");
    while (tok_.kind != Tok::eof && tok_.kind != Tok::rbrace) advance();
    advance_probe_desc();
    return std::nullopt;
  }
  advance();
  parse_statements(c.body);
  if (tok_.kind != Tok::rbrace) {
    failed_statement_ = false;
    statement_errors_ = diags_.error_count();
    error_here("clause body is not closed: add '}'");
    return std::nullopt;
  }
  advance_probe_desc();
  return c;
}

void Parser::parse_statements(std::vector<ExprPtr>& out) {
  while (tok_.kind != Tok::rbrace && tok_.kind != Tok::eof) {
    failed_statement_ = false;
    statement_errors_ = diags_.error_count();
    if (accept(Tok::semicolon)) continue;
    auto s = parse_statement();
    if (!s) {
      sync_statement();
      accept(Tok::semicolon);
      continue;
    }
    bool is_if = s->kind == ExprKind::if_stmt;
    out.push_back(std::move(s));
    if (is_if || tok_.kind == Tok::rbrace) continue;  // an if ends with its body
    if (!expect(Tok::semicolon, "';' after the statement")) {
      sync_statement();
      accept(Tok::semicolon);
    }
  }
}

// if (cond) body [else body]: newer D implementations and bpftrace have it;
// a body is a block or one statement.
ExprPtr Parser::parse_if() {
  Nesting nesting(*this);
  if (!nesting.ok()) return nullptr;
  Loc loc = tok_.loc;
  advance();  // 'if'
  if (!expect(Tok::lparen, "'(' after 'if'")) return nullptr;
  auto cond = parse_expr();
  if (!cond) return nullptr;
  if (!expect(Tok::rparen, "')' after the condition of 'if'")) return nullptr;
  auto then_body = parse_if_body();
  if (!then_body) return nullptr;
  auto n = make(ExprKind::if_stmt, loc);
  n->kids.push_back(std::move(cond));
  n->kids.push_back(std::move(then_body));
  if (tok_.kind == Tok::identifier && tok_.text == "else") {
    advance();
    ExprPtr else_body;
    if (tok_.kind == Tok::identifier && tok_.text == "if") {
      // else if: a block holding the inner if.
      else_body = make(ExprKind::block, tok_.loc);
      auto inner = parse_if();
      if (!inner) return nullptr;
      else_body->kids.push_back(std::move(inner));
    } else {
      else_body = parse_if_body();
      if (!else_body) return nullptr;
    }
    n->kids.push_back(std::move(else_body));
  }
  return n;
}

ExprPtr Parser::parse_if_body() {
  auto b = make(ExprKind::block, tok_.loc);
  if (accept(Tok::lbrace)) {
    parse_statements(b->kids);
    if (tok_.kind != Tok::rbrace) {
      failed_statement_ = false;
      statement_errors_ = diags_.error_count();
      error_here("block is not closed: add '}'");
      return nullptr;
    }
    advance();
    return b;
  }
  auto s = parse_statement();
  if (!s) return nullptr;
  bool is_if = s->kind == ExprKind::if_stmt;
  b->kids.push_back(std::move(s));
  if (!is_if && tok_.kind != Tok::rbrace && !expect(Tok::semicolon, "';' after the statement")) return nullptr;
  return b;
}

ExprPtr Parser::parse_statement() {
  if (tok_.kind == Tok::identifier && tok_.text == "if") return parse_if();
  if (tok_.kind == Tok::identifier && tok_.text == "else") {
    error_here("'else' without an 'if' before it");
    return nullptr;
  }
  if (tok_.kind == Tok::aggregation) {
    Loc loc = tok_.loc;
    std::string name = tok_.text;
    advance();
    auto agg = make(ExprKind::agg_set, loc);
    agg->text = name;
    std::vector<ExprPtr> keys;
    if (tok_.kind == Tok::lbracket) {
      advance();
      keys = parse_args(Tok::rbracket);
      if (failed_statement_) return nullptr;
      if (keys.empty()) {
        error_here("aggregation '@" + name + "' has empty brackets: give keys or drop the '[]'");
        return nullptr;
      }
    }
    if (!expect(Tok::assign, "'=' and an aggregating function such as 'count()'")) return nullptr;
    auto fn = parse_postfix();
    if (!fn) return nullptr;
    if (fn->kind != ExprKind::call) {
      diags_.error("D_AGG_FUNC", fn->loc,
                   "'@" + name + "' must be assigned an aggregating function such as 'count()' or 'sum(x)'");
      failed_statement_ = true;
      return nullptr;
    }
    agg->loc.length = fn->loc.column + fn->loc.length - loc.column;
    if (fn->loc.line != loc.line || agg->loc.length < 1) agg->loc.length = static_cast<int>(name.size()) + 1;
    agg->kids.push_back(std::move(fn));
    for (auto& k : keys) agg->kids.push_back(std::move(k));
    if (!check_height(*agg)) return nullptr;
    return agg;
  }
  return parse_expr();
}

ExprPtr Parser::parse_expr() { return parse_assignment(); }

ExprPtr Parser::parse_assignment() {
  Nesting nesting(*this);
  if (!nesting.ok()) return nullptr;
  auto lhs = parse_ternary();
  if (lhs) {
    Op op = assign_op(tok_.kind);
    if (op != Op::inc) {
      Loc loc = tok_.loc;
      advance();
      auto rhs = parse_assignment();
      if (!rhs) return nullptr;
      auto a = make(ExprKind::assign, loc);
      a->op = op;
      a->kids.push_back(std::move(lhs));
      a->kids.push_back(std::move(rhs));
      if (!check_height(*a)) return nullptr;
      lhs = std::move(a);
    }
  }
  return lhs;
}

Parser::Nesting::Nesting(Parser& p) : p_(p), ok_(++p.depth_ <= kMaxDepth) {
  if (!ok_)
    p_.error_here("expression is nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
}

ExprPtr Parser::parse_ternary() {
  auto cond = parse_binary(0);
  if (!cond || tok_.kind != Tok::question) return cond;
  Nesting nesting(*this);
  if (!nesting.ok()) return nullptr;
  Loc loc = tok_.loc;
  advance();
  auto a = parse_assignment();
  if (!a) return nullptr;
  if (!expect(Tok::colon, "':' in the '?:' expression")) return nullptr;
  auto b = parse_ternary();
  if (!b) return nullptr;
  auto t = make(ExprKind::ternary, loc);
  t->kids.push_back(std::move(cond));
  t->kids.push_back(std::move(a));
  t->kids.push_back(std::move(b));
  if (!check_height(*t)) return nullptr;
  return t;
}

ExprPtr Parser::parse_binary(int level) {
  if (level >= static_cast<int>(levels().size())) return parse_unary();
  auto lhs = parse_binary(level + 1);
  while (lhs) {
    const BinLevel* match = nullptr;
    for (const auto& l : levels()[static_cast<size_t>(level)])
      if (l.tok == tok_.kind) match = &l;
    if (!match) break;
    if (match->op == Op::div && in_predicate_ && lexer_.at_clause_body()) break;
    Loc loc = tok_.loc;
    advance();
    auto rhs = parse_binary(level + 1);
    if (!rhs) return nullptr;
    auto b = make(ExprKind::binary, loc);
    b->op = match->op;
    b->kids.push_back(std::move(lhs));
    b->kids.push_back(std::move(rhs));
    if (!check_height(*b)) return nullptr;
    lhs = std::move(b);
  }
  return lhs;
}

bool Parser::at_type_name() const {
  return tok_.kind == Tok::kw_type || is_qualifier(tok_) ||
         (tok_.kind == Tok::identifier && typedefs_.count(tok_.text));
}

std::optional<Type> Parser::parse_type_name() {
  std::vector<std::string> words;
  std::optional<Type> named;  // a typedef name
  Loc loc = tok_.loc;
  for (;;) {
    if (is_qualifier(tok_)) {
      advance();
    } else if (tok_.kind == Tok::kw_type) {
      words.push_back(tok_.text);
      advance();
    } else if (tok_.kind == Tok::identifier && words.empty() && !named && typedefs_.count(tok_.text)) {
      named = typedefs_.at(tok_.text);
      words.push_back(tok_.text);
      advance();
    } else {
      break;
    }
  }
  int stars = 0;
  while (tok_.kind == Tok::star || is_qualifier(tok_)) {
    if (tok_.kind == Tok::star) ++stars;
    advance();
  }
  auto t = named ? (words.size() == 1 ? pointer_to(*named, stars) : std::nullopt) : type_from_words(words, stars);
  if (!t) {
    diags_.error("D_SYNTAX", loc, "'" + join(words, " ") + std::string(static_cast<size_t>(stars), '*') +
                                      "' is not a valid type name");
    failed_statement_ = true;
  }
  return t;
}

ExprPtr Parser::parse_unary() {
  Nesting nesting(*this);
  if (!nesting.ok()) return nullptr;
  Loc loc = tok_.loc;
  Op op = Op::none;
  switch (tok_.kind) {
  case Tok::minus: op = Op::neg; break;
  case Tok::plus: op = Op::plus; break;
  case Tok::bang: op = Op::lnot; break;
  case Tok::tilde: op = Op::bnot; break;
  case Tok::star: op = Op::deref; break;
  case Tok::amp: op = Op::addr; break;
  case Tok::plus_plus:
  case Tok::minus_minus: {
    Op which = tok_.kind == Tok::plus_plus ? Op::inc : Op::dec;
    advance();
    auto e = parse_unary();
    if (!e) return nullptr;
    auto n = make(ExprKind::incdec, loc);
    n->op = which;
    n->kids.push_back(std::move(e));
    if (!check_height(*n)) return nullptr;
    return n;
  }
  case Tok::kw_sizeof: {
    advance();
    if (tok_.kind == Tok::lparen) {
      advance();
      if (at_type_name()) {
        auto t = parse_type_name();
        if (!t) return nullptr;
        if (!expect(Tok::rparen, "')' after the type name")) return nullptr;
        auto n = make(ExprKind::sizeof_type, loc);
        n->cast_type = *t;
        return n;
      }
      auto e = parse_expr();
      if (!e) return nullptr;
      if (!expect(Tok::rparen, "')'")) return nullptr;
      auto n = make(ExprKind::sizeof_expr, loc);
      n->kids.push_back(std::move(e));
      if (!check_height(*n)) return nullptr;
      return n;
    }
    auto e = parse_unary();
    if (!e) return nullptr;
    auto n = make(ExprKind::sizeof_expr, loc);
    n->kids.push_back(std::move(e));
    if (!check_height(*n)) return nullptr;
    return n;
  }
  case Tok::kw_stringof: {
    advance();
    auto e = parse_unary();
    if (!e) return nullptr;
    auto n = make(ExprKind::stringof, loc);
    n->kids.push_back(std::move(e));
    if (!check_height(*n)) return nullptr;
    return n;
  }
  case Tok::lparen: {
    // A cast when a type name follows the parenthesis.
    Token open = tok_;
    advance();
    if (at_type_name()) {
      auto t = parse_type_name();
      if (!t) return nullptr;
      if (!expect(Tok::rparen, "')' to close the cast")) return nullptr;
      auto e = parse_unary();
      if (!e) return nullptr;
      auto n = make(ExprKind::cast, loc);
      n->cast_type = *t;
      n->kids.push_back(std::move(e));
      if (!check_height(*n)) return nullptr;
      return n;
    }
    auto inner = parse_expr();
    if (!inner) return nullptr;
    if (!expect(Tok::rparen, "')'")) return nullptr;
    // Postfix operators may follow a parenthesized expression.
    while (tok_.kind == Tok::plus_plus || tok_.kind == Tok::minus_minus) {
      auto n = make(ExprKind::incdec, tok_.loc);
      n->op = tok_.kind == Tok::plus_plus ? Op::inc : Op::dec;
      n->is_postfix = true;
      advance();
      n->kids.push_back(std::move(inner));
      if (!check_height(*n)) return nullptr;
      inner = std::move(n);
    }
    return inner;
  }
  default: break;
  }
  if (op == Op::none) return parse_postfix();
  advance();
  auto e = parse_unary();
  if (!e) return nullptr;
  auto n = make(ExprKind::unary, loc);
  n->op = op;
  n->kids.push_back(std::move(e));
  if (!check_height(*n)) return nullptr;
  return n;
}

std::vector<ExprPtr> Parser::parse_args(Tok close) {
  std::vector<ExprPtr> args;
  if (accept(close)) return args;
  for (;;) {
    ExprPtr a;
    if (tok_.kind == Tok::aggregation) {
      a = make(ExprKind::agg_ref, tok_.loc);
      a->text = tok_.text;
      advance();
    } else {
      a = parse_assignment();
    }
    if (!a) return args;
    args.push_back(std::move(a));
    if (accept(Tok::comma)) continue;
    if (tok_.kind == close) {
      advance();
      return args;
    }
    expect(close, close == Tok::rparen ? "',' or ')' in the argument list" : "',' or ']' in the key list");
    return args;
  }
}

ExprPtr Parser::parse_postfix() {
  auto e = parse_primary();
  while (e) {
    if (tok_.kind == Tok::lparen && e->kind == ExprKind::ident) {
      advance();
      auto call = make(ExprKind::call, e->loc);
      call->text = e->text;
      call->kids = parse_args(Tok::rparen);
      if (failed_statement_ || !check_height(*call)) return nullptr;
      e = std::move(call);
    } else if (tok_.kind == Tok::lbracket && e->kind == ExprKind::ident) {
      advance();
      auto idx = make(ExprKind::index, e->loc);
      idx->text = e->text;
      idx->kids = parse_args(Tok::rbracket);
      if (failed_statement_ || !check_height(*idx)) return nullptr;
      if (idx->kids.empty()) {
        error_here("'" + e->text + "[]' needs at least one key");
        return nullptr;
      }
      e = std::move(idx);
    } else if (tok_.kind == Tok::plus_plus || tok_.kind == Tok::minus_minus) {
      auto n = make(ExprKind::incdec, tok_.loc);
      n->op = tok_.kind == Tok::plus_plus ? Op::inc : Op::dec;
      n->is_postfix = true;
      advance();
      n->kids.push_back(std::move(e));
      if (!check_height(*n)) return nullptr;
      e = std::move(n);
    } else if (tok_.kind == Tok::arrow && e->kind == ExprKind::ident && e->text == "args") {
      // args->FIELD: a field of a kernel tracepoint's record (typed by sema
      // from the event's format).
      advance();
      if (tok_.kind != Tok::identifier) {
        error_here("expected a field name after 'args->'");
        return nullptr;
      }
      auto m = make(ExprKind::member, e->loc);
      m->text = tok_.text;
      m->loc.length = tok_.loc.column + tok_.loc.length - e->loc.column;
      advance();
      e = std::move(m);
    } else if (tok_.kind == Tok::arrow || tok_.kind == Tok::dot) {
      diags_.error("D_SYNTAX", tok_.loc,
                   "member access with '" + tok_.text +
                       "' is not supported (no struct types); read fields with copyin() and casts");
      failed_statement_ = true;
      return nullptr;
    } else if (tok_.kind == Tok::lbracket || tok_.kind == Tok::lparen) {
      error_here("only names can be indexed or called: '" + tok_.text + "' cannot follow this expression");
      return nullptr;
    } else {
      break;
    }
  }
  return e;
}

ExprPtr Parser::parse_primary() {
  Loc loc = tok_.loc;
  switch (tok_.kind) {
  case Tok::integer:
  case Tok::character: {
    auto e = make(ExprKind::integer, loc);
    e->ival = tok_.ival;
    if (tok_.kind == Tok::character) {
      e->type = Type::integer(tok_.loc.length == 3 ? 1 : 4, true);
      e->type = Type::integer(1, true);
      if (tok_.ival > 0xff) e->type = Type::integer(4, true);
    } else {
      // C's rule: the first of int, unsigned (hex/octal only), long,
      // unsigned long that holds the value; suffixes raise the floor.
      bool hex_or_oct = tok_.text.size() > 1 && tok_.text[0] == '0';
      uint64_t v = tok_.ival;
      Type t;
      if (!tok_.is_long && !tok_.is_unsigned && v <= 0x7fffffffULL) t = Type::integer(4, true);
      else if (!tok_.is_long && (tok_.is_unsigned || hex_or_oct) && v <= 0xffffffffULL) t = Type::integer(4, false);
      else if (!tok_.is_unsigned && v <= 0x7fffffffffffffffULL) t = Type::integer(8, true);
      else t = Type::integer(8, false);
      e->type = t;
    }
    advance();
    return e;
  }
  case Tok::string: {
    auto e = make(ExprKind::string, loc);
    e->text = tok_.text;
    advance();
    return e;
  }
  case Tok::macro: {
    auto e = make(ExprKind::macro, loc);
    e->text = tok_.text;
    e->ival = tok_.is_string ? 1 : 0;
    advance();
    return e;
  }
  case Tok::identifier: {
    auto e = make(ExprKind::ident, loc);
    e->text = tok_.text;
    advance();
    return e;
  }
  case Tok::kw_self:
  case Tok::kw_this: {
    bool self = tok_.kind == Tok::kw_self;
    advance();
    if (!expect(Tok::arrow, self ? "'->' after 'self'" : "'->' after 'this'")) return nullptr;
    if (tok_.kind != Tok::identifier && tok_.kind != Tok::kw_type) {
      error_here(std::string("expected a variable name after '") + (self ? "self->" : "this->") + "'");
      return nullptr;
    }
    auto e = make(self ? ExprKind::self_var : ExprKind::this_var, loc);
    e->text = tok_.text;
    e->loc.length = tok_.loc.column + tok_.loc.length - loc.column;
    advance();
    return e;
  }
  case Tok::aggregation: {
    auto e = make(ExprKind::agg_ref, loc);
    e->text = tok_.text;
    advance();
    return e;
  }
  case Tok::lparen: return parse_unary();
  default: break;
  }
  std::string got = tok_.kind == Tok::eof ? "end of input" : "'" + tok_.text + "'";
  error_here("syntax error near " + got + ": expected an expression");
  return nullptr;
}

ExprPtr Parser::parse_expression_only() {
  advance();
  auto e = parse_expr();
  if (e && tok_.kind != Tok::eof) {
    error_here("syntax error near '" + tok_.text + "': expected the end of the expression");
    return nullptr;
  }
  return e;
}

}  // namespace probekit::d
