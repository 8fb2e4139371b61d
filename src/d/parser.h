// d/parser.h — recursive descent from tokens to the ProgramAst.
//
// Grammar (DTrace's D; translators and struct declarations at program scope too):
//   program   := (pragma | decl | clause)*
//   decl      := [extern|inline|typedef] [self|this] type declarator (',' declarator)* ';'
//   declarator:= '*'* NAME ['[' (expr | type (',' type)*) ']'] ['=' expr (inline only)]
//   clause    := pdesc (',' pdesc)* ['/' expr '/'] '{' stmts '}'
//   stmts     := (stmt? ';')* stmt?
//   stmt      := expr | '@'NAME ['[' exprs ']'] '=' call
//              | 'if' '(' expr ')' body ['else' (body | if-stmt)]
//   body      := '{' stmts '}' | stmt ';'
//   expr      := C expressions with C precedence, plus '^^' (logical xor),
//                self->x, this->x, $macros, sizeof, stringof and casts.
// A syntax error is reported (D_SYNTAX) and the parser skips to the next
// ';' or '}' so one slip does not hide the errors after it. Nesting deeper
// than kMaxDepth is refused so that no input can exhaust the stack.
//
// A declaration at program scope reaches the parser as a probe description
// (the lexer cannot tell `int` from `BEGIN`): when its first word is a type
// or a storage class, the parser has the lexer read it again as tokens.
// Typedef names are the parser's own (it needs them to parse casts).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <optional>
#include <string_view>

#include "d/ast.h"
#include "d/diagnostic.h"
#include "d/lexer.h"
#include "d/program.h"

namespace probekit::d {

class Parser {
public:
  static constexpr int kMaxDepth = 200;

  Parser(std::string_view source, Diagnostics& diags) : lexer_(source, diags), diags_(diags) {}
  // Where `struct foo` is looked up when the program does not declare it.
  using TargetTypes = std::function<std::optional<TargetAggregate>(const std::string& key)>;
  void set_target_types(TargetTypes f) { target_types_ = std::move(f); }

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
  // `#pragma D attributes|binding X NAME`: NAME must be declared by the
  // program (checked when it is parsed: dt_cc.c's D_PRAGMA_UNUSED).
  struct PragmaName {
    std::string name;
    std::string pragma;
    Loc loc;
  };
  std::vector<PragmaName> pragma_names_;
  ProgramAst* prog_ = nullptr;  // the program parse_program is building
  void check_pragma_names(const ProgramAst& p);

  std::optional<Clause> parse_clause();
  bool at_declaration() const;
  void parse_declaration(ProgramAst& p);
  // Statements up to (not including) the closing '}' or the end of input.
  void parse_statements(std::vector<ExprPtr>& out);
  ExprPtr parse_if();
  ExprPtr parse_if_body();
  ExprPtr parse_statement();
  ExprPtr parse_expr();
  ExprPtr parse_assignment();
  ExprPtr parse_ternary();
  ExprPtr parse_binary(int level);
  ExprPtr parse_unary();
  ExprPtr parse_postfix();
  ExprPtr parse_postfix_ops(ExprPtr e);  // what follows a primary or a parenthesized expression
  ExprPtr parse_primary();
  std::optional<Type> parse_type_name();
  bool at_type_name();
  // The specifiers of a declaration or type name: built-in type words, a
  // typedef name, or a struct/union/enum.
  struct BaseType {
    std::vector<std::string> words;
    std::optional<Type> named;
    std::string tag;  // key in tags_
    Loc loc;
  };
  bool parse_base_type(BaseType& b);
  // The type of `b` with `stars`: nullopt when invalid; a struct or union
  // itself (no star) is Type::none() with its size in *object_size.
  std::optional<Type> resolve_type(const BaseType& b, int stars, uint64_t* object_size);
  // struct/union/enum: a tag (`struct foo`), a definition (`struct foo {
  // ... }`, also anonymous) or a typedef of one; the key in tags_, "" on
  // error (reported).
  bool at_tag_type() const;
  std::string parse_tag_type();
  bool parse_struct_body(const std::string& key);
  bool parse_enum_body(const std::string& key);
  std::optional<int64_t> enum_value(const Expr& e);
  ExprPtr parse_offsetof();
  void parse_translator(ProgramAst& prog);
  ExprPtr parse_xlate();
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
  int statement_errors_ = 0;  // errors reported before the current statement
  bool in_predicate_ = false;
  std::map<std::string, Type> typedefs_;

  // C's layout of the struct and union types declared (x86-64 rules:
  // members at their alignment, the size rounded to the largest).
  struct Member {
    std::string name;
    uint64_t offset = 0, size = 0;
    Type type;  // none for arrays and structs
    bool is_array = false;                  // the target's arrays (StructType::Field)
    uint8_t bit_offset = 0, bit_size = 0;   // the target's bit-fields
    // How print() shows it: depth 1 (the target's flattened "a.b" members
    // deeper), offset relative to the struct; `nested` is the tag of a
    // struct, union or enum the program declared, whose layout follows.
    PrintMember print;
    std::string nested;
  };
  struct Tag {
    bool is_enum = false, is_union = false, complete = false;
    uint64_t size = 0, align = 1;
    std::vector<Member> members;
    uint16_t index = 0;  // Type::tag of a pointer to it
    bool looked_up = false;  // asked target_types_ already
    bool from_target = false;  // its layout is the target's: the program may still define its own
    bool procfs = false;  // psinfo_t, lwpsinfo_t: built-in translations with no layout
    std::vector<std::pair<int64_t, std::string>> enumerators;  // an enum's, for print()
    std::string shown;  // print()'s name when not the key's (a target's typedef: "node_t")
  };
  // print()'s lines for the members of tags_[key], at `depth`, `base` bytes in.
  void append_layout(const std::string& key, int depth, uint64_t base, std::vector<PrintMember>& out, int guard);
  static std::string display_name(const std::string& key);
  // Fills tags_[key] from the target's DWARF when the program did not
  // define it; true when it is complete afterwards.
  bool import_target_tag(const std::string& key);
  bool import_target_typedef(const std::string& name);
  bool import_target_enum(const std::string& key);
  void import_aggregate(const std::string& key, const TargetAggregate& a);
  std::set<std::string> typedef_misses_;  // names the target has no typedef for
  TargetTypes target_types_;
  std::map<std::string, Tag> tags_;                  // "struct foo", "union u", "enum e"
  std::map<std::string, std::string> tag_typedefs_;  // foo_t -> "struct foo"
  std::map<std::string, int64_t> enumerators_;
  std::set<std::string> agg_names_;  // aggregations assigned so far ('@a;' before any is D_IDENT_UNDEF)
  // Set by parse_type_name when it read a struct or union itself (not a
  // pointer to one): its size, for sizeof.
  std::optional<uint64_t> aggregate_size_;
  uint16_t aggregate_tag_ = 0;  // with aggregate_size_: the struct's Type::tag
  int anonymous_tags_ = 0;
  int struct_count_ = 0;
  int open_bodies_ = 0;
  bool in_sizeof_ = false;  // parsing sizeof's type name: an incomplete one is D_SIZEOF_TYPE  // struct/enum bodies the declaration being read is inside
};

// Parses a type name ("unsigned long long", "uint8_t", "char *") from its
// words; nullopt when they do not form a type.
std::optional<Type> type_from_words(const std::vector<std::string>& words, int pointer_depth);
// `base` with `pointer_depth` stars: nullopt for a pointer to string.
std::optional<Type> pointer_to(const Type& base, int pointer_depth);

}  // namespace probekit::d
