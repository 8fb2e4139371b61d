// d/parser.h — recursive descent from tokens to the ProgramAst.
//
// Grammar (DTrace's D without translators, structs and declarations):
//   program   := (pragma | clause)*
//   clause    := pdesc (',' pdesc)* ['/' expr '/'] '{' (stmt? ';')* stmt? '}'
//   stmt      := expr | '@'NAME ['[' exprs ']'] '=' call
//   expr      := C expressions with C precedence, plus '^^' (logical xor),
//                self->x, this->x, $macros, sizeof, stringof and casts.
// A syntax error is reported (D_SYNTAX) and the parser skips to the next
// ';' or '}' so one slip does not hide the errors after it. Nesting deeper
// than kMaxDepth is refused so that no input can exhaust the stack.
#pragma once

#include <optional>
#include <string_view>

#include "d/ast.h"
#include "d/diagnostic.h"
#include "d/lexer.h"

namespace probekit::d {

class Parser {
public:
  static constexpr int kMaxDepth = 200;

  Parser(std::string_view source, Diagnostics& diags) : lexer_(source, diags), diags_(diags) {}

  ProgramAst parse_program();
  // A single expression (tests, `-x` values): the whole input must be one.
  ExprPtr parse_expression_only();

private:
  void advance();
  void advance_probe_desc();
  bool accept(Tok k);
  bool expect(Tok k, const char* what);
  void error_here(const std::string& message);
  void sync_statement();
  void drain_pragmas(ProgramAst& p);

  std::optional<Clause> parse_clause();
  ExprPtr parse_statement();
  ExprPtr parse_expr();
  ExprPtr parse_assignment();
  ExprPtr parse_ternary();
  ExprPtr parse_binary(int level);
  ExprPtr parse_unary();
  ExprPtr parse_postfix();
  ExprPtr parse_primary();
  std::optional<Type> parse_type_name();
  bool at_type_name() const;
  std::vector<ExprPtr> parse_args(Tok close);
  ExprPtr make(ExprKind k, Loc loc);
  // Sets e.height from its kids; false (and a diagnostic) when too tall.
  bool check_height(Expr& e);

  // One level of expression nesting in the recursive descent: past
  // kMaxDepth it reports and ok() is false; leaving the scope gives the
  // level back on every path.
  class Nesting {
  public:
    explicit Nesting(Parser& p);
    ~Nesting() { --p_.depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
    bool ok() const { return ok_; }

  private:
    Parser& p_;
    bool ok_;
  };

  Lexer lexer_;
  Diagnostics& diags_;
  Token tok_;
  int depth_ = 0;
  bool failed_statement_ = false;
  bool in_predicate_ = false;
};

// Parses a type name ("unsigned long long", "uint8_t", "char *") from its
// words; nullopt when they do not form a type.
std::optional<Type> type_from_words(const std::vector<std::string>& words, int pointer_depth);

}  // namespace probekit::d
