#include "d/lexer.h"

#include <cctype>
#include <cstring>
#include <unordered_set>

#include "util/strings.h"

namespace probekit::d {

namespace {

const std::unordered_set<std::string_view>& type_words() {
  static const std::unordered_set<std::string_view> words = {
      "char",     "short",     "int",      "long",     "signed",  "unsigned", "void",
      "string",   "int8_t",    "int16_t",  "int32_t",  "int64_t", "uint8_t",  "uint16_t",
      "uint32_t", "uint64_t",  "intptr_t", "uintptr_t", "size_t", "ssize_t",  "pid_t",
      "uid_t",    "gid_t",     "id_t",     "uchar_t",  "ushort_t", "uint_t",  "ulong_t",
      "u_longlong_t", "longlong_t", "off_t", "caddr_t", "processorid_t", "bool", "_Bool", "ipaddr_t", "in_port_t",
      "float", "double",
      // The kernel's <linux/types.h> names, which dtrace finds in its CTF.
      "uint", "ushort", "ulong", "unchar", "u_char", "u_short", "u_int", "u_long", "ptrdiff_t",
      // <asm-generic/int-ll64.h> and <linux/types.h>: the fixed-width names
      // of kernel and uapi structures (dtrace-utils' print/tst.print.local.d).
      "__u8", "__s8", "__u16", "__s16", "__u32", "__s32", "__u64", "__s64", "u8", "s8", "u16", "s16", "u32", "s32",
      "u64", "s64", "__le16", "__be16", "__le32", "__be32", "__le64", "__be64", "loff_t"};
  return words;
}

}  // namespace

bool is_type_word(std::string_view word) { return type_words().count(word) > 0; }

namespace {

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Characters a probe description token is made of (dt_lex.l's <S2> state,
// plus '$' for macros that are expanded later).
bool is_pdesc_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == ':' || c == '$' || c == '*' || c == '?' || c == '[' || c == ']' || c == '!' ||
         c == '\\' || c == '`' || c == '+' || c == '~';
}

}  // namespace

const char* to_string(Tok t) {
  switch (t) {
  case Tok::eof: return "end of input";
  case Tok::probe_desc: return "probe description";
  case Tok::identifier: return "identifier";
  case Tok::integer: return "integer";
  case Tok::character: return "character constant";
  case Tok::string: return "string";
  case Tok::macro: return "macro argument";
  case Tok::aggregation: return "aggregation";
  case Tok::lparen: return "'('";
  case Tok::rparen: return "')'";
  case Tok::lbracket: return "'['";
  case Tok::rbracket: return "']'";
  case Tok::lbrace: return "'{'";
  case Tok::rbrace: return "'}'";
  case Tok::comma: return "','";
  case Tok::semicolon: return "';'";
  case Tok::colon: return "':'";
  case Tok::question: return "'?'";
  case Tok::dot: return "'.'";
  case Tok::arrow: return "'->'";
  case Tok::plus: return "'+'";
  case Tok::minus: return "'-'";
  case Tok::star: return "'*'";
  case Tok::slash: return "'/'";
  case Tok::percent: return "'%'";
  case Tok::amp: return "'&'";
  case Tok::pipe: return "'|'";
  case Tok::caret: return "'^'";
  case Tok::tilde: return "'~'";
  case Tok::bang: return "'!'";
  case Tok::lt: return "'<'";
  case Tok::gt: return "'>'";
  case Tok::le: return "'<='";
  case Tok::ge: return "'>='";
  case Tok::eq_eq: return "'=='";
  case Tok::bang_eq: return "'!='";
  case Tok::amp_amp: return "'&&'";
  case Tok::pipe_pipe: return "'||'";
  case Tok::caret_caret: return "'^^'";
  case Tok::shl: return "'<<'";
  case Tok::shr: return "'>>'";
  case Tok::plus_plus: return "'++'";
  case Tok::minus_minus: return "'--'";
  case Tok::assign: return "'='";
  case Tok::plus_assign: return "'+='";
  case Tok::minus_assign: return "'-='";
  case Tok::star_assign: return "'*='";
  case Tok::slash_assign: return "'/='";
  case Tok::percent_assign: return "'%='";
  case Tok::amp_assign: return "'&='";
  case Tok::pipe_assign: return "'|='";
  case Tok::caret_assign: return "'^='";
  case Tok::shl_assign: return "'<<='";
  case Tok::shr_assign: return "'>>='";
  case Tok::kw_sizeof: return "'sizeof'";
  case Tok::kw_stringof: return "'stringof'";
  case Tok::kw_self: return "'self'";
  case Tok::kw_this: return "'this'";
  case Tok::kw_type: return "type name";
  }
  return "token";
}

char Lexer::get() {
  char c = peek();
  if (pos_ < src_.size()) ++pos_;
  if (c == '\n') {
    ++line_;
    col_ = 1;
  } else {
    ++col_;
  }
  return c;
}

Token Lexer::make(Tok kind, Loc start) const {
  Token t;
  t.kind = kind;
  t.loc = start;
  t.loc.length = static_cast<int>(pos_ - tok_start_);
  if (t.loc.length < 1) t.loc.length = 1;
  t.text = std::string(src_.substr(tok_start_, pos_ - tok_start_));
  t.offset = tok_start_;
  return t;
}

void Lexer::reset_to(const Token& t) {
  pos_ = t.offset;
  line_ = t.loc.line;
  col_ = t.loc.column;
}

void Lexer::lex_directive() {
  // At a '#' that starts a line: "#pragma ..." or the "#!" interpreter line.
  Loc start = here();
  size_t begin = pos_;
  while (pos_ < src_.size() && peek() != '\n') get();
  std::string_view line = src_.substr(begin, pos_ - begin);
  if (starts_with(line, "#!")) return;
  if (pos_ >= src_.size()) {  // dt_lex.l's <S3><<EOF>>: a control line needs its newline
    start.length = static_cast<int>(line.size());
    diags_.error("D_SYNTAX", start,
                 "end-of-file encountered before the end of the control line '" + std::string(line) +
                     "': end the line with a newline");
    return;
  }
  std::string_view body = trim(line.substr(1));
  if (starts_with(body, "pragma")) {
    start.length = static_cast<int>(line.size());
    pragmas_.push_back(PragmaLine{std::string(trim(body.substr(6))), start});
    return;
  }
  // A line marker of the C preprocessor: `# 12 "file" 1 3` or `#line 12
  // "file"`; the next line is line 12 of that file.
  std::string_view marker = starts_with(body, "line") ? trim(body.substr(4)) : body;
  if (!marker.empty() && std::isdigit(static_cast<unsigned char>(marker[0]))) {
    size_t digits = 0;
    while (digits < marker.size() && std::isdigit(static_cast<unsigned char>(marker[digits]))) ++digits;
    auto number = parse_uint(std::string(marker.substr(0, digits)), 10);
    std::string_view rest = trim(marker.substr(digits));
    std::string file;
    if (rest.size() >= 2 && rest[0] == '"') {
      auto close = rest.find('"', 1);
      if (close != std::string_view::npos) file = std::string(rest.substr(1, close - 1));
    }
    if (number && *number < 1000000000) {
      diags_.add_line_marker(line_ + 1, file, static_cast<int>(*number));
      return;
    }
  }
  start.length = static_cast<int>(line.size());
  std::string name(line.substr(0, line.find_first_of(" \t")));
  diags_.error("D_PRAGCTL_INVAL", start,
               "preprocessor directive '" + name + "' needs the C preprocessor: run with -C (only '#pragma D' "
               "lines are read without it)");
}

void Lexer::skip_space_and_comments() {
  for (;;) {
    char c = peek();
    if (c == '\0' && pos_ >= src_.size()) return;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      get();
    } else if (c == '/' && peek(1) == '*') {
      Loc start = here();
      get();
      get();
      bool closed = false;
      while (pos_ < src_.size()) {
        if (peek() == '*' && peek(1) == '/') {
          get();
          get();
          closed = true;
          break;
        }
        get();
      }
      if (!closed) {
        start.length = 2;
        diags_.error("D_SYNTAX", start, "comment is not closed; add '*/'");
      }
    } else if (c == '/' && peek(1) == '/') {
      while (pos_ < src_.size() && peek() != '\n') get();
    } else if (c == '#' && col_ == 1) {
      lex_directive();
    } else {
      return;
    }
  }
}

void Lexer::lex_escape(Loc start, std::string& out) {
  // After the backslash. dtrace's stresc2chr(): C's escapes but \? and \',
  // and any other character keeps its backslash ('\?' is two bytes); \x
  // takes every hexadecimal digit that follows, keeping the low byte.
  char c = get();
  switch (c) {
  case 'n': out += '\n'; return;
  case 't': out += '\t'; return;
  case 'r': out += '\r'; return;
  case 'a': out += '\a'; return;
  case 'b': out += '\b'; return;
  case 'f': out += '\f'; return;
  case 'v': out += '\v'; return;
  case '\\':
  case '"': out += c; return;
  case 'x': {
    int v = 0, n = 0;
    while (std::isxdigit(static_cast<unsigned char>(peek()))) {
      char h = get();
      v = v * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      v &= 0xff;
      ++n;
    }
    if (n == 0) diags_.error("D_SYNTAX", start, "'\\x' escape needs hexadecimal digits");
    out += static_cast<char>(v);
    return;
  }
  default:
    if (c >= '0' && c <= '7') {
      int v = c - '0', n = 1;
      while (peek() >= '0' && peek() <= '7' && n < 3) {
        v = v * 8 + (get() - '0');
        ++n;
      }
      out += static_cast<char>(v & 0xff);
      return;
    }
    out += '\\';
    out += c;
  }
}

Token Lexer::lex_string(Loc start) {
  get();  // opening quote
  std::string value;
  for (;;) {
    if (pos_ >= src_.size() || peek() == '\n') {
      diags_.error("D_STR_NL", start, "string is not closed; add '\"' before the end of the line");
      break;
    }
    char c = get();
    if (c == '"') break;
    if (c == '\\') {
      if (pos_ >= src_.size()) continue;
      lex_escape(start, value);
    } else {
      value += c;
    }
  }
  Token t = make(Tok::string, start);
  t.text = std::move(value);
  return t;
}

Token Lexer::lex_char(Loc start) {
  get();  // opening quote
  uint64_t v = 0;
  int n = 0;
  for (;;) {
    if (pos_ >= src_.size() || peek() == '\n') {
      diags_.error("D_CHR_NL", start, "character constant is not closed; add \"'\"");
      break;
    }
    char c = get();
    if (c == '\'') break;
    std::string bytes(1, c);
    if (c == '\\') {
      bytes.clear();
      lex_escape(start, bytes);
    }
    for (char b : bytes) {
      v = (v << 8) | static_cast<unsigned char>(b);
      ++n;
    }
  }
  if (n == 0) diags_.error("D_CHR_NULL", start, "empty character constant; put a character between the quotes");
  if (n > 8) diags_.error("D_CHR_OFLOW", start, "character constant is too long");
  Token t = make(Tok::character, start);
  t.ival = n == 1 ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<signed char>(v))) : v;
  return t;
}

Token Lexer::lex_number(Loc start) {
  int base = 10;
  size_t digits_start = pos_;
  if (peek() == '0' && (peek(1) == 'x' || peek(1) == 'X')) {
    get();
    get();
    base = 16;
    digits_start = pos_;
  } else if (peek() == '0') {
    base = 8;
  }
  while (std::isalnum(static_cast<unsigned char>(peek()))) get();
  // 1.5, 2e10: D has no floating-point constants (dt_lex.l's RGX_FP rule).
  bool fraction = base != 16 && peek() == '.' && pos_ + 1 < src_.size() &&
                  std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]));
  std::string_view run = src_.substr(digits_start, pos_ - digits_start);
  bool exponent = base != 16 && run.find_first_of("eE") != std::string_view::npos &&
                  run.find_first_not_of("0123456789eE+-fFlL") == std::string_view::npos;
  if (fraction || exponent) {
    if (fraction) {
      get();
      while (std::isalnum(static_cast<unsigned char>(peek()))) get();
    }
    Token f = make(Tok::integer, start);
    diags_.error("D_SYNTAX", f.loc, "floating-point constants are not permitted: '" + f.text + "'");
    return f;
  }
  std::string_view all = src_.substr(digits_start, pos_ - digits_start);
  // Split digits from the u/l suffix.
  size_t end = all.size();
  while (end > 0 && (all[end - 1] == 'u' || all[end - 1] == 'U' || all[end - 1] == 'l' ||
                     all[end - 1] == 'L'))
    --end;
  std::string_view digits = all.substr(0, end);
  std::string_view suffix = all.substr(end);
  Token t = make(Tok::integer, start);
  for (char c : suffix) {
    if (c == 'u' || c == 'U') t.is_unsigned = true;
    else t.is_long = true;
  }
  if (digits.empty()) {
    if (base == 8) {  // a lone "0" followed by a suffix
      digits = "0";
    } else {
      diags_.error("D_INT_DIGIT", t.loc, "'" + t.text + "' has no digits after '0x'");
      return t;
    }
  }
  uint64_t v = 0;
  bool overflow = false;
  for (char c : digits) {
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : std::isxdigit(static_cast<unsigned char>(c))
                ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                : 99;
    if (d >= base) {
      // A decimal number run into a name ("10ms") is two tokens to dtrace's
      // lexer and a syntax error to its grammar; a bad digit of an octal
      // constant ("019") is D_INT_DIGIT.
      const bool run_on = base == 10 && !std::isdigit(static_cast<unsigned char>(c));
      if (run_on) {
        diags_.error("D_SYNTAX", t.loc,
                     "syntax error near '" + t.text + "': a number runs into a name; separate them or fix the number");
        return t;
      }
      diags_.error("D_INT_DIGIT", t.loc,
                   "invalid digit '" + std::string(1, c) + "' in " +
                       (base == 16 ? "hexadecimal" : base == 8 ? "octal" : "decimal") +
                       " constant '" + t.text + "'");
      return t;
    }
    uint64_t nv = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    if ((nv - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base) != v) overflow = true;
    v = nv;
  }
  if (overflow) {
    diags_.error("D_INT_OFLOW", t.loc, "integer constant '" + t.text + "' does not fit in 64 bits");
    return t;
  }
  t.ival = v;
  return t;
}

bool Lexer::at_clause_body() const {
  size_t p = pos_;
  while (p < src_.size()) {
    char c = src_[p];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++p;
    } else if (c == '/' && p + 1 < src_.size() && src_[p + 1] == '*') {
      auto end = src_.find("*/", p + 2);
      if (end == std::string_view::npos) return true;
      p = end + 2;
    } else if (c == '/' && p + 1 < src_.size() && src_[p + 1] == '/') {
      while (p < src_.size() && src_[p] != '\n') ++p;
    } else {
      return c == '{';
    }
  }
  return true;
}

Token Lexer::next_probe_desc() {
  skip_space_and_comments();
  char c = peek();
  if (pos_ < src_.size() && is_pdesc_char(c)) {
    Loc start = here();
    tok_start_ = pos_;
    while (pos_ < src_.size() && is_pdesc_char(peek())) get();
    return make(Tok::probe_desc, start);
  }
  return next();
}

Token Lexer::next() {
  for (;;) {
    Token t = next_once();
    if (t.kind != Tok::eof || pos_ >= src_.size()) return t;
    // An invalid character was reported and skipped: go on with the rest.
  }
}

Token Lexer::next_once() {
  skip_space_and_comments();
  Loc start = here();
  tok_start_ = pos_;
  if (pos_ >= src_.size()) return make(Tok::eof, start);
  char c = peek();
  if (is_ident_start(c)) {
    while (is_ident_char(peek())) get();
    // A name scoped to a module, DTrace's MODULE`NAME (`a.out`foo`,
    // `libc.so.6`size_t`): one identifier, when a '`' and a name follow
    // the module's characters with no space between.
    size_t end = pos_;
    while (end < src_.size() && (is_ident_char(src_[end]) || src_[end] == '.' || src_[end] == '-' || src_[end] == '+'))
      ++end;
    if (end + 1 < src_.size() && src_[end] == '`' && is_ident_start(src_[end + 1])) {
      while (pos_ <= end) get();
      while (is_ident_char(peek())) get();
      Token t = make(Tok::identifier, start);
      // A built-in type word keeps its meaning in any module's scope.
      std::string_view bare = std::string_view(t.text).substr(t.text.find('`') + 1);
      if (type_words().count(bare)) {
        t.kind = Tok::kw_type;
        t.text = std::string(bare);
      }
      return t;
    }
    Token t = make(Tok::identifier, start);
    if (t.text == "sizeof") t.kind = Tok::kw_sizeof;
    else if (t.text == "stringof") t.kind = Tok::kw_stringof;
    else if (t.text == "self") t.kind = Tok::kw_self;
    else if (t.text == "this") t.kind = Tok::kw_this;
    else if (type_words().count(t.text)) t.kind = Tok::kw_type;
    return t;
  }
  if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(start);
  if (c == '"') return lex_string(start);
  if (c == '\'') return lex_char(start);
  if (c == '$') {
    get();
    bool str = false;
    if (peek() == '$') {
      get();
      str = true;
    }
    size_t name_start = pos_;
    while (is_ident_char(peek())) get();
    Token t = make(Tok::macro, start);
    t.text = std::string(src_.substr(name_start, pos_ - name_start));
    t.is_string = str;
    if (t.text.empty()) diags_.error("D_SYNTAX", t.loc, "'$' must be followed by a macro name such as '$1' or '$target'");
    return t;
  }
  if (c == '@') {
    get();
    size_t name_start = pos_;
    while (is_ident_char(peek())) get();
    Token t = make(Tok::aggregation, start);
    t.text = std::string(src_.substr(name_start, pos_ - name_start));
    return t;
  }
  get();
  auto two = [&](char next_char, Tok yes, Tok no) {
    if (peek() == next_char) {
      get();
      return make(yes, start);
    }
    return make(no, start);
  };
  switch (c) {
  case '(': return make(Tok::lparen, start);
  case ')': return make(Tok::rparen, start);
  case '[': return make(Tok::lbracket, start);
  case ']': return make(Tok::rbracket, start);
  case '{': return make(Tok::lbrace, start);
  case '}': return make(Tok::rbrace, start);
  case ',': return make(Tok::comma, start);
  case ';': return make(Tok::semicolon, start);
  case ':': return make(Tok::colon, start);
  case '?': return make(Tok::question, start);
  case '.': return make(Tok::dot, start);
  case '~': return make(Tok::tilde, start);
  case '+':
    if (peek() == '+') { get(); return make(Tok::plus_plus, start); }
    return two('=', Tok::plus_assign, Tok::plus);
  case '-':
    if (peek() == '-') { get(); return make(Tok::minus_minus, start); }
    if (peek() == '>') { get(); return make(Tok::arrow, start); }
    return two('=', Tok::minus_assign, Tok::minus);
  case '*': return two('=', Tok::star_assign, Tok::star);
  case '/': return two('=', Tok::slash_assign, Tok::slash);
  case '%': return two('=', Tok::percent_assign, Tok::percent);
  case '&':
    if (peek() == '&') { get(); return make(Tok::amp_amp, start); }
    return two('=', Tok::amp_assign, Tok::amp);
  case '|':
    if (peek() == '|') { get(); return make(Tok::pipe_pipe, start); }
    return two('=', Tok::pipe_assign, Tok::pipe);
  case '^':
    if (peek() == '^') { get(); return make(Tok::caret_caret, start); }
    return two('=', Tok::caret_assign, Tok::caret);
  case '!': return two('=', Tok::bang_eq, Tok::bang);
  case '=': return two('=', Tok::eq_eq, Tok::assign);
  case '<':
    if (peek() == '<') { get(); return two('=', Tok::shl_assign, Tok::shl); }
    return two('=', Tok::le, Tok::lt);
  case '>':
    if (peek() == '>') { get(); return two('=', Tok::shr_assign, Tok::shr); }
    return two('=', Tok::ge, Tok::gt);
  case '`': {
    // dt_lex.l's identifiers may start with '`': `NAME is the kernel's
    // symbol NAME, and '`' alone an identifier too (that no scope has).
    while (is_ident_char(peek()) || peek() == '.') get();
    return make(Tok::identifier, start);
  }
  default: break;
  }
  Token bad = make(Tok::eof, start);
  std::string shown = std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c) : "\\x" + hex(static_cast<unsigned char>(c)).substr(2);
  diags_.error("D_SYNTAX", bad.loc, "invalid character '" + shown + "'; remove it");
  return bad;
}

std::vector<Token> tokenize(std::string_view source, Diagnostics& diags) {
  Lexer lexer(source, diags);
  std::vector<Token> out;
  for (;;) {
    Token t = lexer.next();
    bool end = t.kind == Tok::eof;
    out.push_back(std::move(t));
    if (end) break;
  }
  return out;
}

}  // namespace probekit::d
