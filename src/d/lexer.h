// d/lexer.h — turns D program text into tokens.
//
// D's lexer has two states, as DTrace's dt_lex.l does: at the start of a
// clause a probe description such as `pid$target:libc.so.6:mall*:entry` is
// one token (its characters — `:`, `*`, `$`, `[`, `-`, `.` — mean something
// else inside an expression), and inside predicates and bodies the text is C
// expressions. The parser chooses the state for the next token
// (next_probe_desc() or next()). `#pragma D option` lines and comments are
// consumed here; pragmas are handed to the parser as they are met. The C
// preprocessor's line markers (`# 12 "file"`, `#line 12`, from -C) are
// handed to the Diagnostics, which then names the original file and line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "d/diagnostic.h"

namespace probekit::d {

enum class Tok {
  eof,
  probe_desc,  // text: the raw description, macros not yet expanded
  identifier,
  integer,     // ival; is_unsigned/is_long from suffixes
  character,   // ival
  string,      // text: the decoded bytes
  macro,       // text: "target", "pid", "1", ...; is_string for "$$1"
  aggregation, // text: name without '@' ("" for the anonymous @)
  // punctuators
  lparen, rparen, lbracket, rbracket, lbrace, rbrace, comma, semicolon, colon, question,
  dot, arrow, plus, minus, star, slash, percent, amp, pipe, caret, tilde, bang,
  lt, gt, le, ge, eq_eq, bang_eq, amp_amp, pipe_pipe, caret_caret, shl, shr,
  plus_plus, minus_minus,
  assign, plus_assign, minus_assign, star_assign, slash_assign, percent_assign,
  amp_assign, pipe_assign, caret_assign, shl_assign, shr_assign,
  // keywords
  kw_sizeof, kw_stringof, kw_self, kw_this,
  kw_type,  // text: one type word ("unsigned", "long", "int", "uint8_t", "string", ...)
};

const char* to_string(Tok t);

struct Token {
  Tok kind = Tok::eof;
  std::string text;
  uint64_t ival = 0;
  bool is_unsigned = false;
  bool is_long = false;
  bool is_string = false;
  Loc loc;
  size_t offset = 0;  // of the first byte in the source
};

struct PragmaLine {
  std::string text;  // after "#pragma", e.g. "D option quiet"
  Loc loc;
};

class Lexer {
public:
  Lexer(std::string_view source, Diagnostics& diags) : src_(source), diags_(diags) {}

  // The next token of an expression.
  Token next();
  // The next token where a probe description may start: a probe_desc token
  // when the text looks like one, otherwise an ordinary token.
  Token next_probe_desc();

  // True when only blanks/comments separate the current position from a
  // '{' or the end of input: a '/' there closes a predicate (D's grammar
  // cannot tell `/x / {` from a division otherwise).
  bool at_clause_body() const;

  // Lexes again from the start of `t` (a token this lexer returned): a
  // declaration at program scope is first met as a probe description.
  void reset_to(const Token& t);

  // Pragmas met so far (the parser drains them).
  std::vector<PragmaLine>& pragmas() { return pragmas_; }

private:
  Token next_once();
  void skip_space_and_comments();
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
  }
  char get();
  Loc here() const { return Loc{line_, col_, 1}; }
  Token make(Tok kind, Loc start) const;
  Token lex_number(Loc start);
  Token lex_string(Loc start);
  Token lex_char(Loc start);
  // Appends the escape after a backslash (one byte, or two when dtrace
  // keeps the backslash).
  void lex_escape(Loc start, std::string& out);
  void lex_directive();

  std::string_view src_;
  Diagnostics& diags_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
  size_t tok_start_ = 0;
  std::vector<PragmaLine> pragmas_;
};

// D's built-in type words ("int", "uint64_t", "string", ...).
bool is_type_word(std::string_view word);

// Every token of `source` in expression state, for tests and the fuzzer.
std::vector<Token> tokenize(std::string_view source, Diagnostics& diags);

}  // namespace probekit::d
