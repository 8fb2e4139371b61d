#include "d/parser.h"

#include <algorithm>

#include "d/builtins.h"
#include "d/system_types.h"
#include "util/strings.h"

namespace probekit::d {

// Why the words of a type that did not resolve are wrong, as dtrace's
// dt_decl_attr()/dt_decl_spec()/dt_decl_check() find it word by word:
// two type names (D_DECL_COMBO), short or long with char (D_DECL_CHARATTR),
// any attribute with void (D_DECL_VOIDATTR), signed or unsigned with a
// non-integer (D_DECL_SIGNINT), long with a non-arithmetic type
// (D_DECL_LONGINT). Words that pass every check but name no type ("long
// short") fail CTF's lookup: D_UNKNOWN.
static std::pair<const char*, std::string> type_words_issue(const std::vector<std::string>& words) {
  enum class Kind { unknown, integer, floating, other };
  Kind kind = Kind::unknown;
  std::string name;
  bool shortw = false, longw = false, sign = false;
  auto check = [&]() -> std::pair<const char*, std::string> {
    if (kind == Kind::unknown) return {nullptr, ""};
    if (name == "char" && (shortw || longw)) return {"D_DECL_CHARATTR", "short and long cannot be used with char"};
    if (name == "void" && (shortw || longw || sign))
      return {"D_DECL_VOIDATTR", "short, long, signed and unsigned cannot be used with void"};
    if (kind != Kind::integer && sign)
      return {"D_DECL_SIGNINT", "signed and unsigned can only be used with an integer type, not " + name};
    if (kind != Kind::integer && kind != Kind::floating && longw)
      return {"D_DECL_LONGINT", "long can only be used with an integer or floating-point type, not " + name};
    return {nullptr, ""};
  };
  for (const auto& w : words) {
    if (w == "short" || w == "long" || w == "signed" || w == "unsigned") {
      (w == "short" ? shortw : w == "long" ? longw : sign) = true;
    } else {
      if (kind != Kind::unknown) return {"D_DECL_COMBO", "'" + name + "' and '" + w + "' are two types: keep one"};
      name = w;
      kind = w == "char" || w == "int" || w == "void" ? Kind::integer
             : w == "float" || w == "double"         ? Kind::floating
                                                     : Kind::other;
    }
    if (auto issue = check(); issue.first) return issue;
  }
  return {"D_UNKNOWN", "no such type"};
}

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
  int longs = 0, shorts = 0, chars = 0, ints = 0, voids = 0, strings = 0, floats = 0, doubles = 0;
  int is_unsigned = 0, is_signed = 0;
  std::optional<Type> named;
  for (const auto& w : words) {
    if (w == "long") ++longs;
    else if (w == "short") ++shorts;
    else if (w == "char") ++chars;
    else if (w == "int") ++ints;
    else if (w == "void") ++voids;
    else if (w == "string") ++strings;
    else if (w == "float") ++floats;
    else if (w == "double") ++doubles;
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
          {"_Bool", Type::integer(1, false)},     {"ipaddr_t", Type::integer(4, false)},
          {"in_port_t", Type::integer(2, false)}, {"ptrdiff_t", Type::integer(8, true)},
          // <linux/types.h>, from the kernel's CTF in dtrace.
          {"uint", Type::integer(4, false)},      {"ushort", Type::integer(2, false)},
          {"ulong", Type::integer(8, false)},     {"unchar", Type::integer(1, false)},
          {"u_char", Type::integer(1, false)},    {"u_short", Type::integer(2, false)},
          {"u_int", Type::integer(4, false)},     {"u_long", Type::integer(8, false)},
          {"__u8", Type::integer(1, false)},      {"__s8", Type::integer(1, true)},
          {"__u16", Type::integer(2, false)},     {"__s16", Type::integer(2, true)},
          {"__u32", Type::integer(4, false)},     {"__s32", Type::integer(4, true)},
          {"__u64", Type::integer(8, false)},     {"__s64", Type::integer(8, true)},
          {"u8", Type::integer(1, false)},        {"s8", Type::integer(1, true)},
          {"u16", Type::integer(2, false)},       {"s16", Type::integer(2, true)},
          {"u32", Type::integer(4, false)},       {"s32", Type::integer(4, true)},
          {"u64", Type::integer(8, false)},       {"s64", Type::integer(8, true)},
          {"__le16", Type::integer(2, false)},    {"__be16", Type::integer(2, false)},
          {"__le32", Type::integer(4, false)},    {"__be32", Type::integer(4, false)},
          {"__le64", Type::integer(8, false)},    {"__be64", Type::integer(8, false)},
          {"loff_t", Type::integer(8, true)},
      };
      for (const auto& [n, t] : table)
        if (n == w) named = t;
      if (!named) return std::nullopt;
    }
  }
  if (is_unsigned + is_signed > 1) return std::nullopt;
  Type base;
  if (floats || doubles) {
    // float, double and long double (x86-64's 16-byte x87 extended
    // precision, which D declares, holds and sizes as CTF does).
    const bool long_double = doubles == 1 && longs == 1 && !floats;
    if (floats + doubles > 1 || (longs && !long_double) || shorts || chars || ints || voids || strings ||
        is_unsigned || is_signed || named)
      return std::nullopt;
    if (pointer_depth) return Type::pointer(pointer_depth == 1 ? 0 : 8, false);  // *p of a float *: not readable
    return Type::floating(floats ? 4 : long_double ? 16 : 8);
  }
  if (named) {
    if (longs || shorts || chars || ints || voids || strings || is_unsigned || is_signed)
      return std::nullopt;
    base = *named;
  } else if (strings) {
    if (strings > 1 || longs || shorts || chars || ints || voids || is_unsigned || is_signed)
      return std::nullopt;
    return pointer_to(Type::string(), pointer_depth);  // string * (pointer_to)
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
  if (base.is_string()) {
    if (pointer_depth > 1) return Type::pointer(8, false);  // string **: reads an address
    Type t = Type::pointer(0, false);
    t.pointee_string = true;  // string *: *p is a string in memory
    return t;
  }
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
  // A pragma read before the error is processed first, as dtrace handles
  // each when its line is read: its error is the statement's (a bad
  // '#pragma D attributes' inside an unfinished declaration).
  if (prog_ && !lexer_.pragmas().empty()) drain_pragmas(*prog_);
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

namespace {

// dtrace_str2attr's syntax: [stability[/stability[/class]]], case aside.
bool valid_attributes(const std::string& text) {
  static const char* stabilities[] = {"internal", "private", "obsolete", "external",
                                      "unstable", "evolving", "stable",   "standard"};
  static const char* classes[] = {"unknown", "cpu", "platform", "group", "isa", "common"};
  std::vector<std::string> parts;
  size_t from = 0;
  for (;;) {
    const size_t slash = text.find('/', from);
    parts.push_back(text.substr(from, slash == std::string::npos ? std::string::npos : slash - from));
    if (slash == std::string::npos) break;
    from = slash + 1;
  }
  if (parts.size() > 3) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string w = parts[i];
    for (auto& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = false;
    if (i < 2) {
      for (const char* n : stabilities) ok = ok || w == n;
    } else {
      for (const char* n : classes) ok = ok || w == n;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace

// A name an attributes or binding pragma set must be one the program
// declares (a variable or an inline) by its end; a built-in one is not the
// program's to change (D_PRAGMA_SCOPE), and one never declared is
// D_PRAGMA_UNUSED.
void Parser::check_pragma_names(const ProgramAst& p) {
  for (const auto& pn : pragma_names_) {
    if (pn.name == "provider") continue;  // the provider form names no identifier
    bool declared = false;
    for (const auto& d : p.decls) declared = declared || d.name == pn.name;
    if (declared) continue;
    if (find_function(pn.name) || find_var(pn.name)) {
      diags_.error("D_PRAGMA_SCOPE", pn.loc,
                   "'#pragma D " + pn.pragma + "' cannot change '" + pn.name + "', which D defines, not the program");
      continue;
    }
    diags_.error("D_PRAGMA_UNUSED", pn.loc,
                 "unused '#pragma D " + pn.pragma + "': the program declares no '" + pn.name +
                     "' (declare it, or remove the pragma)");
  }
  pragma_names_.clear();
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
      // change what a program does here. Each takes two arguments
      // (dt_pragma.c's D_PRAGMA_MALFORM otherwise).
      if (words.size() != 4) {
        diags_.error("D_PRAGMA_MALFORM", line.loc,
                     "malformed '#pragma D " + words[1] + "': write '#pragma D " + words[1] + " " +
                         (words[1] == "attributes" ? "<attributes> <name>" : words[1] == "binding" ? "<version> <name>"
                                                                                                   : "<class> <name>") +
                         "'");
        continue;
      }
      if (words[1] == "attributes" && !valid_attributes(words[2])) {
        // dtrace_str2attr: up to three '/'-separated parts, two
        // stabilities and a dependency class.
        diags_.error("D_PRAGMA_INVAL", line.loc,
                     "invalid attributes '" + words[2] +
                         "' in '#pragma D attributes': write name/data/class, e.g. Evolving/Evolving/Common");
        continue;
      }
      if (words[1] == "depends_on") {
        // dt_pragma.c: only a library (-L) may depend on another, and it
        // must be loaded; a provider or module is not known before the
        // program is bound.
        if (words[2] == "library" && !diags_.has_marked_file(words[3]))
          diags_.error("D_PRAGMA_DEPEND", line.loc,
                       "program requires library '" + words[3] + "', which is not loaded: give -L DIR with it");
        else if (words[2] != "library" && words[2] != "provider" && words[2] != "module")
          diags_.error("D_PRAGMA_INVAL", line.loc,
                       "invalid class '" + words[2] + "' in '#pragma D depends_on': use library, provider or module");
        continue;
      }
      // The name is the word as written, as dt_pragma.c splits the line at
      // white space ("func;" names no identifier).
      const std::string& name = words[3];
      pragma_names_.push_back({name, words[1], line.loc});
    } else if (words.size() >= 2 && words[0] == "D" && words[1] == "error") {
      // The program's own error (#pragma D error "text"): D_PRAGERR.
      diags_.error("D_PRAGERR", line.loc, "#pragma D error:" + line.text.substr(line.text.find("error") + 5));
    } else if (!words.empty() && words[0] == "D") {
      diags_.error("D_PRAGMA_INVAL", line.loc,
                   "unknown D pragma '#pragma " + line.text + "'; use '#pragma D option'");
    }
    // Non-D pragmas are ignored, as C compilers do.
  }
  lexer_.pragmas().clear();
}

ProgramAst Parser::parse_program() {
  ProgramAst prog;
  prog_ = &prog;
  advance_probe_desc();
  while (tok_.kind != Tok::eof) {
    failed_statement_ = false;
    statement_errors_ = diags_.error_count();
    if (at_declaration()) {
      lexer_.reset_to(tok_);
      advance();
      if (tok_.kind == Tok::identifier && tok_.text == "translator") parse_translator(prog);
      else parse_declaration(prog);
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
  check_pragma_names(prog);
  // Structs the target's types point to (p->next of a list) are read from
  // its DWARF too, a bounded number of them.
  for (int round = 0; round < 8 && target_types_; ++round) {
    std::vector<std::string> pending;
    for (const auto& [key, t] : tags_)
      if (!t.is_enum && t.index != 0 && !t.complete && !t.looked_up) pending.push_back(key);
    if (pending.empty() || struct_count_ > 512) break;
    for (const auto& key : pending) import_target_tag(key);
  }
  if (target_types_) {
    // curcpu's cpuinfo_t: the system's struct cpuinfo, after the program's
    // own types (their tags do not move), unless the program has its own.
    Tag& t = tags_["struct cpuinfo"];
    if (t.index == 0) t.index = static_cast<uint16_t>(++struct_count_);
    if (!t.complete) import_target_tag("struct cpuinfo");
    const Tag& done = tags_["struct cpuinfo"];
    if (done.from_target && done.complete && done.size == kCpuInfoSize) prog.cpuinfo_tag = done.index;
  }
  prog.structs.resize(struct_count_);
  for (const auto& [key, t] : tags_) {
    if (t.is_enum || t.index == 0) continue;
    StructType& st = prog.structs[t.index - 1u];
    st.name = key;
    st.complete = t.complete;
    for (const auto& m : t.members) {
      StructType::Field f{m.name, m.offset, m.type, m.is_array, m.bit_offset, m.bit_size};
      if (auto n = tags_.find(m.nested); n != tags_.end() && !n->second.is_enum && !m.is_array &&
                                         m.print.kind == PrintMember::Kind::aggregate)
        f.nested = n->second.index;
      st.fields.push_back(f);
    }
    if (!t.complete) continue;
    st.size = t.size;
    PrintMember top;
    top.type_name = t.shown.empty() ? display_name(key) : t.shown;
    top.kind = PrintMember::Kind::aggregate;
    top.size = t.size;
    st.layout.push_back(top);
    append_layout(key, 1, 0, st.layout, 0);
  }
  prog_ = nullptr;
  return prog;
}

std::string Parser::display_name(const std::string& key) {
  // An anonymous struct is "struct", as ctf_type_name() spells it; a
  // module's scope is not part of the name ("struct a.out`foo").
  if (key.find("<anonymous") != std::string::npos) return key.substr(0, key.find(' '));
  if (auto tick = key.find('`'); tick != std::string::npos) return key.substr(0, key.find(' ') + 1) + key.substr(tick + 1);
  return key;
}

void Parser::append_layout(const std::string& key, int depth, uint64_t base, std::vector<PrintMember>& out,
                           int guard) {
  if (guard > 16 || out.size() > 4096) return;
  const Tag& t = tags_[key];
  for (const auto& m : t.members) {
    PrintMember p = m.print;
    p.depth += depth - 1;
    p.offset += base;
    if (p.kind == PrintMember::Kind::enumeration && !m.nested.empty()) p.enumerators = tags_[m.nested].enumerators;
    out.push_back(p);
    if (!t.from_target && p.kind == PrintMember::Kind::aggregate && !m.nested.empty())
      append_layout(m.nested, p.depth + 1, p.offset, out, guard + 1);
  }
}

bool Parser::at_declaration() const {
  if (tok_.kind != Tok::probe_desc || tok_.text.find(':') != std::string::npos) return false;
  size_t n = 0;
  while (n < tok_.text.size() && (std::isalnum(static_cast<unsigned char>(tok_.text[n])) || tok_.text[n] == '_')) ++n;
  std::string word = tok_.text.substr(0, n);
  static const char* const kWords[] = {"extern", "static",   "register", "auto",  "typedef", "inline",    "self",
                                       "this",   "const",    "volatile", "struct", "union",  "enum", "translator"};
  for (const char* w : kWords)
    if (word == w) return true;
  if (is_type_word(word) || typedefs_.count(word) > 0 || tag_typedefs_.count(word) > 0) return true;
  // The system's typedefs (cpuinfo_t, in6_addr_t) and procfs.d's, known
  // before the program names them: `cpuinfo_t *ci;`. Only those, so that
  // no probe description is ever taken for a target's type name.
  return word == "psinfo_t" || word == "lwpsinfo_t" || system_type(word).has_value();
}

// One declaration at program scope (dt_node_decl's rules): variables get
// their types, inlines their values, typedefs a name the parser then knows.
void Parser::parse_declaration(ProgramAst& prog) {
  Loc start = tok_.loc;
  open_bodies_ = 0;
  std::string storage;  // extern, inline, typedef, or a class D refuses
  Decl::Class scope = Decl::Class::global;
  auto fail = [&](const char* id, Loc loc, const std::string& message) {
    if (!failed_statement_) diags_.error(id, loc, message);
    failed_statement_ = true;
    // Skip to the ';' that ends the declaration, out of any struct or
    // enum body the error was in.
    for (int depth = open_bodies_; tok_.kind != Tok::eof; advance()) {
      if (tok_.kind == Tok::lbrace) ++depth;
      if (tok_.kind == Tok::rbrace) --depth;
      if (tok_.kind == Tok::semicolon && depth <= 0) {
        advance();
        break;
      }
    }
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
  // The specifiers: built-in type words, one typedef name, or a struct,
  // union or enum (maybe defined here).
  BaseType base;
  if (!parse_base_type(base)) return fail("D_SYNTAX", tok_.loc, "");
  if (base.words.empty() && (scope != Decl::Class::global || (!storage.empty() && storage != "typedef")) &&
      tok_.kind == Tok::identifier)
    base.words.push_back("int");  // `this x;`: C's implicit int, as dtrace takes it
  if (base.words.empty()) {
    std::string got = tok_.kind == Tok::eof ? "end of input" : "'" + tok_.text + "'";
    return fail("D_SYNTAX", tok_.loc, "syntax error near " + got + ": expected a type name in the declaration");
  }
  if (!base.tag.empty() && at_tag_type()) {
    // `struct a { ... } struct b { ... }`: a ';' is missing, and to dtrace's
    // grammar that is two types in one declaration.
    return fail("D_DECL_COMBO", tok_.loc,
                "'" + base.tag + "' is followed by another type: end its declaration with ';'");
  }
  if (!base.tag.empty() && base.words.size() > 1) {
    // `unsigned struct s { ... }`: the words dtrace refuses with a struct.
    auto [id, why] = type_words_issue(base.words);
    return fail(id, base.loc, "invalid type '" + join(base.words, " ") + "': " + why);
  }
  if (tok_.kind == Tok::semicolon && storage == "typedef" && base.tag.empty() && base.words.size() >= 2) {
    // `typedef __int8_t int8_t;` of a system header under -C: a name D
    // already has as a type word, given the type it already names (dtrace
    // puts a header's typedefs in the C container, beside D's own).
    static const std::set<std::string> keywords = {"char", "short", "int",  "long",  "signed",
                                                   "unsigned", "void", "float", "double", "string"};
    const std::string& name = base.words.back();
    std::vector<std::string> rest(base.words.begin(), base.words.end() - 1);
    std::optional<Type> named;
    if (!keywords.count(name)) named = type_from_words({name}, 0);
    std::optional<Type> given = resolve_type(BaseType{rest, base.named, "", base.loc}, 0, nullptr);
    if (named.has_value() && given.has_value() && named.value() == given.value()) {
      advance();
      return;
    }
  }
  if (tok_.kind == Tok::semicolon) {
    advance();
    // `struct foo { ... };` declares the type; `int;` nothing.
    if (base.tag.empty() || storage == "typedef")
      diags_.error("D_DECL_USELESS", start, "useless declaration: name the variable, e.g. '" + join(base.words, " ") + " x;'");
    return;
  }
  // A function's prototype, `(void)`, `(int, char *)`, `(int, ...)`, as
  // dt_decl_prototype() checks it. D cannot call such a function; the
  // declaration is checked and kept nowhere. False after an error.
  auto prototype = [&]() -> bool {
    advance();  // '('
    int n = 0, voids = 0;
    while (tok_.kind != Tok::rparen) {
      ++n;
      if (tok_.kind == Tok::dot) {  // '...': the variable-length rest
        for (int i = 0; i < 3; ++i)
          if (!accept(Tok::dot)) return fail("D_SYNTAX", tok_.loc, "syntax error: expected '...'"), false;
        if (tok_.kind != Tok::rparen)
          return fail("D_SYNTAX", tok_.loc, "syntax error: '...' must be the last parameter"), false;
        break;
      }
      if (tok_.kind == Tok::identifier && (tok_.text == "extern" || tok_.text == "static" || tok_.text == "auto" ||
                                           tok_.text == "typedef" || tok_.text == "inline"))
        return fail("D_DECL_PARMCLASS", tok_.loc,
                    "inappropriate storage class '" + tok_.text + "' for a function parameter: remove it"),
               false;
      if (tok_.kind == Tok::identifier && tok_.text == "register") advance();
      BaseType pb;
      const Loc at = tok_.loc;
      if (!parse_base_type(pb) || pb.words.empty())
        return fail("D_SYNTAX", tok_.loc, "syntax error: expected the type of parameter #" + std::to_string(n)), false;
      int pstars = 0;
      while (tok_.kind == Tok::star || is_qualifier(tok_)) {
        if (tok_.kind == Tok::star) ++pstars;
        advance();
      }
      const bool is_void = pstars == 0 && pb.words.size() == 1 && pb.words[0] == "void";
      voids += is_void;
      if (tok_.kind == Tok::identifier) {
        if (is_void)
          return fail("D_DECL_PROTO_NAME", tok_.loc, "void parameter may not have a name: " + tok_.text), false;
        advance();
      }
      if (tok_.kind == Tok::lbracket)
        return fail("D_DECL_PROTO_TYPE", at,
                    "function prototype may not use an array or associative array parameter: parameter #" +
                        std::to_string(n)),
               false;
      if (!accept(Tok::comma)) break;
    }
    if (!expect(Tok::rparen, "')' to close the parameter list")) return fail("D_SYNTAX", tok_.loc, ""), false;
    if (voids > 0 && n > 1) return fail("D_DECL_PROTO_VOID", start, "void must be the sole parameter"), false;
    return true;
  };
  for (;;) {
    int stars = 0;
    while (tok_.kind == Tok::star || is_qualifier(tok_)) {
      if (tok_.kind == Tok::star) ++stars;
      advance();
    }
    if (tok_.kind == Tok::lparen) {
      // int *(*fp)(void): a pointer to a function, declared and unused.
      advance();
      while (accept(Tok::star)) {
      }
      if (tok_.kind != Tok::identifier || (advance(), tok_.kind != Tok::rparen) || (advance(), tok_.kind != Tok::lparen))
        return fail("D_SYNTAX", tok_.loc, "syntax error: expected a function pointer declarator, e.g. 'int (*fp)(void)'");
      if (!prototype()) return;
      if (accept(Tok::comma)) continue;
      if (!expect(Tok::semicolon, "';' after the declaration")) return fail("D_SYNTAX", tok_.loc, "");
      return;
    }
    if (tok_.kind != Tok::identifier) {
      std::string got = tok_.kind == Tok::eof ? "end of input" : "'" + tok_.text + "'";
      return fail("D_SYNTAX", tok_.loc, "syntax error near " + got + ": expected the name being declared");
    }
    Decl d;
    d.name = tok_.text;
    d.loc = tok_.loc;
    advance();
    if (tok_.kind == Tok::lparen && storage != "typedef" && storage != "inline" && scope == Decl::Class::global) {
      // int foo(int): a function's declaration (dtrace's DT_DC_EXTERN
      // functions, e.g. in a header that declares the target's).
      if (!prototype()) return;
      if (accept(Tok::comma)) continue;
      if (!expect(Tok::semicolon, "';' after the declaration")) return fail("D_SYNTAX", tok_.loc, "");
      return;
    }
    uint64_t object = 0;
    auto type = resolve_type(base, stars, &object);
    if (!type && !base.tag.empty() && base.words.size() == 1)
      return fail("D_DECL_INCOMPLETE", base.loc,
                  "incomplete struct/union/enum " + base.tag + ": " + d.name + "; define " + base.tag +
                      " ('" + base.tag + " { ... };') before declaring " + d.name);
    if (!type) {
      auto [id, why] = type_words_issue(base.words);
      return fail(id, base.loc,
                  "invalid type '" + join(base.words, " ") + std::string(static_cast<size_t>(stars), '*') + "': " + why);
    }
    if (storage == "typedef" && !base.tag.empty() && stars == 0 && !tags_[base.tag].is_enum) {
      // typedef struct foo foo_t: foo_t names the struct itself.
      if (typedefs_.count(d.name) || tag_typedefs_.count(d.name)) return fail("D_DECL_IDRED", d.loc, "typedef redeclared: " + d.name);
      tag_typedefs_[d.name] = base.tag;
      if (accept(Tok::comma)) continue;
      if (!expect(Tok::semicolon, "';' after the declaration")) return fail("D_SYNTAX", tok_.loc, "");
      return;
    }
    // A struct or union variable holds the struct's bytes (Type::object).
    d.type = object > 0 ? Type::aggregate(tags_[base.tag].index) : *type;
    if (typedefs_.count(d.name) || tag_typedefs_.count(d.name))
      return fail("D_DECL_IDRED", d.loc, "typedef identifier redeclared: '" + d.name + "' names a type");
    if (enumerators_.count(d.name))
      return fail("D_DECL_IDRED", d.loc, "identifier redeclared: '" + d.name + "' is an enumerator");
    if (tok_.kind == Tok::lbracket && storage == "extern") {
      // extern int a[], b[3][4]: the target's arrays, which dtrace types
      // from CTF; probekit reads a target's variables by their DWARF, so
      // the declaration is accepted and kept nowhere.
      while (accept(Tok::lbracket)) {
        while (tok_.kind != Tok::rbracket && tok_.kind != Tok::semicolon && tok_.kind != Tok::eof) advance();
        if (!expect(Tok::rbracket, "']' to close the array declaration")) return fail("D_SYNTAX", tok_.loc, "");
      }
      if (accept(Tok::comma)) continue;
      if (!expect(Tok::semicolon, "';' after the declaration")) return fail("D_SYNTAX", tok_.loc, "");
      return;
    }
    if (tok_.kind == Tok::lbracket) {
      advance();
      d.is_array = true;
      if (tok_.kind == Tok::dot)
        return fail("D_DECL_PROTO_VARARGS", tok_.loc,
                    "associative array prototype may not use a variable-length argument list: " + d.name);
      if (tok_.kind == Tok::rbracket)
        return fail("D_DECL_ARRNULL", d.loc,
                    "array declaration requires array dimension or tuple signature: " + d.name + "[5] or " + d.name +
                        "[string]");
      if (at_type_name()) {
        for (;;) {
          const Loc key_at = tok_.loc;
          auto k = parse_type_name();
          if (!k) return fail("D_SYNTAX", tok_.loc, "");
          // dt_decl_prototype: an array's keys are values, never void.
          if (k->is_none())
            return fail("D_DECL_PROTO_TYPE", key_at,
                        "array prototype may not use parameter of type void: " + d.name + ", parameter #" +
                            std::to_string(d.keys.size() + 1) + "; key the array by a value type, e.g. int");
          d.keys.push_back(*k);
          // An inline array names its keys: inline int a[int x] = x + 1.
          if (storage == "inline") {
            if (tok_.kind != Tok::identifier)
              return fail("D_SYNTAX", tok_.loc,
                          "syntax error near '" + tok_.text + "': expected the name of the inline's key, e.g. '" +
                              d.name + "[int x]'");
            d.params.push_back(tok_.text);
            advance();
          }
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
      if (d.is_array && d.cls == Decl::Class::inline_ && d.params.empty())
        return fail("D_DECL_COMBO", d.loc,
                    "an inline array is keyed by named parameters: declare '" + d.name + "[int x]', not a dimension");
      // this int a[5] and self struct rec r[5] are arrays (dt_parser.c
      // refuses only an associative one as a local variable).
      if (d.is_array && !d.dim && (d.cls == Decl::Class::this_ || d.cls == Decl::Class::self))
        return fail("D_DECL_LOCASSC", d.loc,
                    std::string("associative arrays may not be declared as ") + (d.cls == Decl::Class::self ? "self" : "this") +
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
    // D's comma operator in a statement (`a = 1, b = 2;`): its operands
    // are evaluated left to right and the value is discarded, which is
    // one statement after the other.
    if (accept(Tok::comma)) {
      if (tok_.kind == Tok::semicolon || tok_.kind == Tok::rbrace ||
          (tok_.kind == Tok::identifier && tok_.text == "if")) {
        error_here("expected an expression after ','");
        sync_statement();
        accept(Tok::semicolon);
        continue;
      }
      continue;
    }
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
    if (tok_.kind == Tok::lbracket && !keys.empty()) {
      diags_.error("D_AGG_MDIM", tok_.loc,
                   "aggregation '@" + name + "' takes one list of keys: write @" + name + "[a, b], not @" + name +
                       "[a][b]");
      failed_statement_ = true;
      return nullptr;
    }
    if ((tok_.kind == Tok::semicolon || tok_.kind == Tok::rbrace) && !failed_statement_) {
      // `@a;` does nothing: dtrace's D_AGG_NULL, or D_IDENT_UNDEF for an
      // aggregation never assigned before.
      const bool known = !keys.empty() || agg_names_.count(name);
      diags_.error(known ? "D_AGG_NULL" : "D_IDENT_UNDEF", loc,
                   known ? "'@" + name + "' alone has no effect: assign it, e.g. @" + name + " = count()"
                         : "unknown aggregation '@" + name + "': assign it first, e.g. @" + name + " = count()");
      failed_statement_ = true;
      return nullptr;
    }
    if (!expect(Tok::assign, "'=' and an aggregating function such as 'count()'")) return nullptr;
    agg_names_.insert(name);
    // The whole expression, as dtrace's grammar reads it: `@ = tick-1()`
    // is tick - 1(), whose 1() is D_FUNC_IDENT before any D_AGG_FUNC.
    auto fn = parse_assignment();
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

bool Parser::at_type_name() {
  return tok_.kind == Tok::kw_type || is_qualifier(tok_) ||
         (tok_.kind == Tok::identifier && typedefs_.count(tok_.text)) ||
         (tok_.kind == Tok::identifier && import_target_typedef(tok_.text) && typedefs_.count(tok_.text)) ||
         at_tag_type();
}

bool Parser::at_tag_type() const {
  return tok_.kind == Tok::identifier &&
         (tok_.text == "struct" || tok_.text == "union" || tok_.text == "enum" || tag_typedefs_.count(tok_.text));
}

bool Parser::parse_base_type(BaseType& b) {
  b.loc = tok_.loc;
  for (;;) {
    // A typedef name not seen yet (the target's, psinfo_t) where only a
    // type may stand: xlate<T>, a translator's output.
    if (tok_.kind == Tok::identifier && b.words.empty() && !b.named && b.tag.empty() && !is_qualifier(tok_))
      import_target_typedef(tok_.text);
    if (is_qualifier(tok_)) {
      advance();
    } else if (tok_.kind == Tok::kw_type) {
      b.words.push_back(tok_.text);
      advance();
    } else if (!b.named && b.tag.empty() && at_tag_type() &&
               std::all_of(b.words.begin(), b.words.end(), [](const std::string& w) {
                 return w == "short" || w == "long" || w == "signed" || w == "unsigned";
               })) {
      // `unsigned struct s`: read, so that it is refused with its tag.
      b.tag = parse_tag_type();
      if (b.tag.empty()) return false;
      b.words.push_back(b.tag);
    } else if (tok_.kind == Tok::identifier && b.words.empty() && !b.named && typedefs_.count(tok_.text)) {
      b.named = typedefs_.at(tok_.text);
      b.words.push_back(tok_.text);
      advance();
    } else {
      return true;
    }
  }
}

std::optional<Type> Parser::resolve_type(const BaseType& b, int stars, uint64_t* object_size) {
  if (object_size) *object_size = 0;
  if (!b.tag.empty()) {
    if (b.words.size() != 1) return std::nullopt;
    const Tag& t = tags_[b.tag];
    if (t.is_enum) return pointer_to(Type::integer(4, true), stars);
    if (stars > 0) {  // a pointer to a struct: an address, with the struct for p->member
      auto p = pointer_to(Type::none(), stars);
      if (p && stars == 1) p->tag = t.index;
      return p;
    }
    if (!t.complete) return std::nullopt;
    if (object_size) *object_size = t.size;
    return Type::none();
  }
  if (b.named) return b.words.size() == 1 ? pointer_to(*b.named, stars) : std::nullopt;
  return type_from_words(b.words, stars);
}

std::optional<Type> Parser::parse_type_name() {
  aggregate_size_.reset();
  BaseType b;
  if (!parse_base_type(b)) {
    failed_statement_ = true;
    return std::nullopt;
  }
  int stars = 0;
  while (tok_.kind == Tok::star || is_qualifier(tok_)) {
    if (tok_.kind == Tok::star) ++stars;
    advance();
  }
  uint64_t size = 0;
  auto t = resolve_type(b, stars, &size);
  if (!t && !b.tag.empty() && b.words.size() == 1 && in_sizeof_) {
    // dt_node_op1's rule for sizeof of a forward declaration.
    diags_.error("D_SIZEOF_TYPE", b.loc,
                 "cannot apply sizeof to an operand of unknown size: " + b.tag + " is not defined; define it ('" +
                     b.tag + " { ... };') first");
    failed_statement_ = true;
    return t;
  }
  if (!t && !b.tag.empty() && b.words.size() == 1) {
    diags_.error("D_DECL_INCOMPLETE", b.loc, "incomplete " + b.tag + ": define it ('" + b.tag + " { ... };') first");
    failed_statement_ = true;
    return t;
  }
  if (t && size > 0) {
    aggregate_size_ = size;
    aggregate_tag_ = tags_[b.tag].index;
  }
  if (!t) {
    auto [id, why] = type_words_issue(b.words);
    diags_.error(id, b.loc,
                 "'" + join(b.words, " ") + std::string(static_cast<size_t>(stars), '*') +
                     "' is not a valid type name: " + why);
    failed_statement_ = true;
  }
  return t;
}

// The body of a struct or union after its '{': members laid out as C
// lays them out on x86-64.
bool Parser::parse_struct_body(const std::string& key) {
  std::vector<Member> members;
  uint64_t size = 0, align = 1, next = 0;
  bool has_bitfields = false;
  const bool is_union = tags_[key].is_union;
  while (!accept(Tok::rbrace)) {
    if (tok_.kind == Tok::eof) {
      error_here("'" + key + "' is not closed: add '};'");
      return false;
    }
    BaseType b;
    if (!parse_base_type(b)) return false;
    if (b.words.empty()) {
      std::string got = "'" + tok_.text + "'";
      error_here("syntax error near " + got + ": expected the type of a member of '" + key + "'");
      return false;
    }
    for (;;) {
      int stars = 0;
      while (tok_.kind == Tok::star || is_qualifier(tok_)) {
        if (tok_.kind == Tok::star) ++stars;
        advance();
      }
      // `int : 3;` is an unnamed bit-field (padding): it takes its place
      // in the layout and has no name to read it by.
      const bool unnamed = tok_.kind == Tok::colon && stars == 0;
      if (tok_.kind != Tok::identifier && !unnamed) {
        error_here("expected the name of a member of '" + key + "'");
        return false;
      }
      Member m;
      m.name = unnamed ? "" : tok_.text;
      Loc mloc = tok_.loc;
      if (!unnamed) advance();
      uint64_t object = 0;
      auto t = resolve_type(b, stars, &object);
      if (!t && !b.tag.empty() && b.words.size() == 1) {
        diags_.error("D_DECL_INCOMPLETE", mloc,
                     "incomplete struct/union/enum " + b.tag + ": " + m.name + "; define " + b.tag + " before " + key);
        failed_statement_ = true;
        return false;
      }
      if (!t || (t->is_none() && object == 0) || t->is_string()) {
        diags_.error(t && t->is_none() ? "D_DECL_VOIDOBJ" : "D_DECL_INCOMPLETE", mloc,
                     "member '" + m.name + "' of '" + key + "' has no size: give it an integer, pointer or " +
                         "complete struct type");
        failed_statement_ = true;
        return false;
      }
      uint64_t msize = object ? object : t->size, malign = object ? tags_[b.tag].align : t->size;
      if (accept(Tok::lbracket)) {
        auto dim = parse_ternary();
        auto n = dim ? enum_value(*dim) : std::nullopt;
        if (!n || *n <= 0) {
          diags_.error("D_DECL_ARRSUB", dim ? dim->loc : mloc,
                       "the dimension of member '" + m.name + "' must be a positive integer constant");
          failed_statement_ = true;
          return false;
        }
        if (!expect(Tok::rbracket, "']' after the dimension")) return false;
        msize *= static_cast<uint64_t>(*n);
      }
      uint64_t malign_override = 0;
      if (accept(Tok::colon)) {
        // A bit-field, with dt_decl_member()'s checks in its order. Its
        // type is an integer of `width` bits stored in the smallest power
        // of two bytes holding them, as libctf's ctf_add_integer() sizes it
        // (so `int a : 3` is a 1-byte member: DTrace's layout, not C's).
        const std::string shown = m.name.empty() ? "(anon)" : m.name;
        auto w = parse_ternary();
        if (!w) return false;
        auto width = enum_value(*w);
        if (m.name.empty() && width && *width == 0 && w->kind == ExprKind::integer) {
          // `int : 0;` ends the storage unit in C; libctf ignores it.
          if (accept(Tok::comma)) continue;
          if (!expect(Tok::semicolon, "';' after the member")) return false;
          break;
        }
        if (!width || *width <= 0) {
          diags_.error("D_DECL_BFCONST", w->loc,
                       "the width of bit-field '" + shown + "' must be a positive integer constant");
          failed_statement_ = true;
          return false;
        }
        if (stars > 0 || object != 0 || !t->is_integer() || msize != t->size ||
            (!b.tag.empty() && tags_[b.tag].is_enum)) {
          diags_.error("D_DECL_BFTYPE", mloc,
                       "invalid type for bit-field '" + shown + "': declare it with an integer type such as 'int'");
          failed_statement_ = true;
          return false;
        }
        if (*width > static_cast<int64_t>(t->size) * 8) {
          diags_.error("D_DECL_BFSIZE", w->loc,
                       "bit-field '" + shown + "' is " + std::to_string(*width) + " bits wide, more than its type's " +
                           std::to_string(t->size * 8) + ": make it narrower or its type wider");
          failed_statement_ = true;
          return false;
        }
        m.bit_size = static_cast<uint8_t>(*width);
        uint64_t bytes = (static_cast<uint64_t>(*width) + 7) / 8;
        msize = bytes <= 1 ? 1 : bytes <= 2 ? 2 : bytes <= 4 ? 4 : 8;
        malign_override = msize;
        has_bitfields = true;
      }
      if (malign_override) malign = malign_override;
      for (const auto& other : members)
        if (!m.name.empty() && other.name == m.name) {
          // libctf refuses the member; dtrace reports that as D_UNKNOWN.
          diags_.error("D_UNKNOWN", mloc, "member '" + m.name + "' is declared twice in " + key + ": rename one");
          failed_statement_ = true;
          return false;
        }
      m.offset = is_union ? 0 : (next + malign - 1) / malign * malign;
      m.size = msize;
      {
        using K = PrintMember::Kind;
        std::string base_name = b.tag.empty() ? join(b.words, " ") : display_name(b.tag);
        if (stars > 0) base_name += " " + std::string(static_cast<size_t>(stars), '*');
        K kind = stars > 0            ? K::pointer
                 : !b.tag.empty()     ? (tags_[b.tag].is_enum ? K::enumeration : K::aggregate)
                 : t->is_floating()   ? K::floating
                 : t->is_integer()    ? K::integer
                                      : K::other;
        if (stars == 0 && !b.tag.empty()) m.nested = b.tag;
        m.print.name = m.name;
        m.print.depth = 1;
        m.print.offset = m.offset;
        m.print.is_signed = t->is_signed;
        if (m.bit_size == 0 && msize != (object ? object : t->size)) {  // an array
          m.print.kind = K::array;
          m.print.element = kind;
          m.print.element_name = base_name;
          m.print.size = object ? object : t->size;
          m.print.count = msize / m.print.size;
          m.print.type_name = base_name + " [" + std::to_string(m.print.count) + "]";
        } else {
          m.print.kind = kind;
          m.print.size = msize;
          m.print.type_name = base_name;
        }
      }
      if (m.bit_size > 0) {
        m.print.size = msize;
        m.print.bit_size = m.bit_size;
        m.type = Type::integer(static_cast<uint8_t>(msize), t->is_signed);
      } else if (msize == t->size && object == 0) {
        m.type = *t;  // not an array: p->m can read it
      }
      if (m.bit_size == 0 && msize != (object ? object : t->size) && object == 0 && t->is_integer()) {
        // An array of integers: p->m (x.m) is the address of its first
        // element, so p->m[i] reads one and stringof(p->m) a char array.
        m.is_array = true;
        m.type = Type::pointer(t->size, t->is_signed);
      }
      // The next member starts after this one's last bit, rounded up to a
      // byte (libctf's rule: a bit-field's storage may overlap the next).
      size = is_union ? std::max(size, msize) : m.offset + msize;
      next = is_union ? 0 : m.bit_size > 0 ? m.offset + (m.bit_size + 7u) / 8u : size;
      align = std::max(align, malign);
      if (!m.name.empty()) members.push_back(m);
      if (accept(Tok::comma)) continue;
      if (tok_.kind == Tok::lparen && !m.name.empty()) {
        // `int f();`: a function is no object a struct can hold (dtrace's
        // declaration check: D_DECL_VOIDOBJ).
        diags_.error("D_DECL_VOIDOBJ", mloc,
                     "member '" + m.name + "' of " + key + " is declared as a function: a member must be an object");
        failed_statement_ = true;
        return false;
      }
      if (!expect(Tok::semicolon, "';' after the member")) return false;
      break;
    }
  }
  Tag& t = tags_[key];
  t.members = std::move(members);
  t.align = align;
  // With bit-fields the size is where the last member ends, as libctf
  // computes it (DTrace's sizeof of `struct { int a : 1; }` is 1).
  t.size = has_bitfields ? size : (size + align - 1) / align * align;
  return true;
}

// An enum's enumerators after its '{': NAME [= constant], counting from 0
// or from the last value, as C does.
bool Parser::parse_enum_body(const std::string& key) {
  int64_t next = 0;
  while (!accept(Tok::rbrace)) {
    if (tok_.kind != Tok::identifier) {
      std::string got = tok_.kind == Tok::eof ? "end of input" : "'" + tok_.text + "'";
      error_here("syntax error near " + got + ": expected an enumerator name");
      return false;
    }
    std::string name = tok_.text;
    Loc loc = tok_.loc;
    advance();
    if (accept(Tok::assign)) {
      auto e = parse_ternary();
      if (!e) return false;
      auto v = enum_value(*e);
      if (!v) {
        diags_.error("D_DECL_ENCONST", e->loc, "the value of enumerator '" + name + "' must be an integer constant");
        failed_statement_ = true;
        return false;
      }
      next = *v;
    }
    bool twice = false;
    for (const auto& en : tags_[key].enumerators) twice = twice || en.second == name;
    if (twice) {
      // libctf refuses it before dtrace looks for other identifiers.
      diags_.error("D_UNKNOWN", loc, "enumerator '" + name + "' is declared twice in " + key + ": rename one");
      failed_statement_ = true;
      return false;
    }
    if (enumerators_.count(name) || typedefs_.count(name) || find_var(name)) {
      diags_.error("D_DECL_IDRED", loc, "identifier redeclared: " + name);
      failed_statement_ = true;
      return false;
    }
    if (next > INT32_MAX || next < INT32_MIN) {
      diags_.error("D_DECL_ENOFLOW", loc, "enumerator '" + name + "' value overflows INT_MAX (2147483647)");
      failed_statement_ = true;
      return false;
    }
    tags_[key].enumerators.emplace_back(next, name);
    enumerators_[name] = next++;
    if (!accept(Tok::comma) && tok_.kind != Tok::rbrace) {
      expect(Tok::rbrace, "',' or '}' after the enumerator");
      return false;
    }
  }
  return true;
}

// A constant the parser can fold (enum values, member dimensions):
// integers, enumerators and the arithmetic of C on them.
std::optional<int64_t> Parser::enum_value(const Expr& e) {
  switch (e.kind) {
  case ExprKind::integer: return static_cast<int64_t>(e.ival);
  case ExprKind::ident: {
    auto it = enumerators_.find(e.text);
    if (it == enumerators_.end()) return std::nullopt;
    return it->second;
  }
  case ExprKind::unary: {
    auto v = enum_value(*e.kids[0]);
    if (!v) return std::nullopt;
    if (e.op == Op::neg) return static_cast<int64_t>(0ULL - static_cast<uint64_t>(*v));
    if (e.op == Op::plus) return *v;
    if (e.op == Op::bnot) return ~*v;
    return std::nullopt;
  }
  case ExprKind::binary: {
    auto a = enum_value(*e.kids[0]), b = enum_value(*e.kids[1]);
    if (!a || !b) return std::nullopt;
    auto ua = static_cast<uint64_t>(*a), ub = static_cast<uint64_t>(*b);
    switch (e.op) {
    case Op::add: return static_cast<int64_t>(ua + ub);
    case Op::sub: return static_cast<int64_t>(ua - ub);
    case Op::mul: return static_cast<int64_t>(ua * ub);
    case Op::div: return *b == 0 || (*a == INT64_MIN && *b == -1) ? std::nullopt : std::optional<int64_t>(*a / *b);
    case Op::mod: return *b == 0 || (*a == INT64_MIN && *b == -1) ? std::nullopt : std::optional<int64_t>(*a % *b);
    case Op::shl: return static_cast<int64_t>(ua << (ub & 63));
    case Op::shr: return *a >> (ub & 63);
    case Op::band: return *a & *b;
    case Op::bor: return *a | *b;
    case Op::bxor: return *a ^ *b;
    default: return std::nullopt;
    }
  }
  default: return std::nullopt;
  }
}

std::string Parser::parse_tag_type() {
  if (tok_.text != "struct" && tok_.text != "union" && tok_.text != "enum") {
    std::string key = tag_typedefs_.at(tok_.text);
    advance();
    return key;
  }
  std::string kind = tok_.text;
  Loc loc = tok_.loc;
  advance();
  std::string name;
  if (tok_.kind == Tok::identifier || tok_.kind == Tok::kw_type) {
    name = tok_.text;
    advance();
    if (tok_.kind == Tok::lbrace && name.find('`') != std::string::npos) {
      // `struct mod`name { ... }`: a scoped name refers to a module's type;
      // it cannot be defined here.
      error_here("syntax error near '{': the name of a struct, union or enum defined in D cannot have a module "
                 "scope ('" + name + "')");
      return "";
    }
    // `struct D`s`: the module D names the program's own types (dtrace's
    // "D" CTF container), which is where an unscoped name looks first.
    if (name.rfind("D`", 0) == 0 && name.size() > 2) name.erase(0, 2);
  } else if (tok_.kind == Tok::lbrace) {
    name = "<anonymous " + std::to_string(++anonymous_tags_) + ">";
  } else {
    error_here("expected a name or '{' after '" + kind + "'");
    return "";
  }
  std::string key = kind + " " + name;
  Tag& t = tags_[key];
  t.is_enum = kind == "enum";
  t.is_union = kind == "union";
  if (!t.is_enum && t.index == 0) t.index = static_cast<uint16_t>(++struct_count_);
  if (tok_.kind != Tok::lbrace) {
    // A reference, maybe to a type defined later, or to the target's own.
    if (!t.is_enum && !t.complete) import_target_tag(key);
    if (t.is_enum && !t.complete) import_target_enum(key);
    return key;
  }
  if (t.complete && !t.from_target) {
    diags_.error("D_DECL_TYPERED", loc, "type redeclared: " + key);
    failed_statement_ = true;
    return "";
  }
  advance();
  ++open_bodies_;
  tags_[key].from_target = false;  // the program's own definition wins
  tags_[key].complete = false;
  if (!(kind == "enum" ? parse_enum_body(key) : parse_struct_body(key))) return "";
  --open_bodies_;
  tags_[key].complete = true;
  return key;
}

bool Parser::import_target_tag(const std::string& key) {
  Tag& t = tags_[key];
  if (t.complete || t.looked_up) return t.complete;
  t.looked_up = true;
  auto a = target_types_ ? target_types_(key) : std::nullopt;
  if (!a || (a->is_union != (key.rfind("union ", 0) == 0))) return false;
  import_aggregate(key, *a);
  return true;
}

// `enum color` that the program does not define: the target's (DWARF), its
// enumerators then constants as the program's own are (DTrace's CTF enums).
bool Parser::import_target_enum(const std::string& key) {
  Tag& t = tags_[key];
  if (t.complete || t.looked_up || !target_types_) return t.complete;
  t.looked_up = true;
  auto a = target_types_(key);
  if (!a || !a->is_enum) return false;
  Tag& done = tags_[key];
  done.from_target = true;
  done.complete = true;
  done.size = a->size;
  done.enumerators = a->enumerators;
  for (const auto& [value, name] : a->enumerators) enumerators_.emplace(name, value);
  return true;
}

// A typedef name of the target's (DWARF) for one of its structs or unions,
// `node_t` or scoped to a module, `a.out`node_t` (DTrace's CTF names):
// known to the parser from then on as that struct. False when the target
// has no such typedef (the name is then an ordinary identifier).
bool Parser::import_target_typedef(const std::string& name) {
  if (tag_typedefs_.count(name)) return true;
  if ((name == "psinfo_t" || name == "lwpsinfo_t") && !typedefs_.count(name) && !enumerators_.count(name)) {
    // dtrace's procfs.d types, which probekit reads only member by member
    // (curpsinfo->M, xlate<lwpsinfo_t *>(curthread)->M): structs with no
    // layout, so a pointer to one may be declared and translated to.
    std::string key = name == "psinfo_t" ? "struct psinfo" : "struct lwpsinfo";
    Tag& t = tags_[key];
    if (t.index == 0) t.index = static_cast<uint16_t>(++struct_count_);
    t.procfs = true;
    t.looked_up = true;
    t.shown = name;
    tag_typedefs_[name] = key;
    return true;
  }
  if (!target_types_ || typedef_misses_.count(name) || typedefs_.count(name) || enumerators_.count(name))
    return false;
  auto a = target_types_(name);
  if (!a) {
    typedef_misses_.insert(name);
    return false;
  }
  if (a->is_scalar) {
    // pthread_t and the like: the integer or pointer it stands for.
    const TargetMember& s = a->scalar;
    const bool word = s.size == 1 || s.size == 2 || s.size == 4 || s.size == 8;
    if (s.kind == TargetMember::Kind::pointer) typedefs_[name] = Type::pointer();
    else if (word) typedefs_[name] = Type::integer(static_cast<uint8_t>(s.size), s.is_signed);
    else {
      typedef_misses_.insert(name);
      return false;
    }
    return true;
  }
  // A typedef of a named struct (the system's in6_addr_t) is that struct;
  // else the target's anonymous one is known by the typedef's name.
  const bool named = !a->key.empty();
  std::string key = named ? a->key : std::string(a->is_union ? "union " : "struct ") + name;
  Tag& t = tags_[key];
  t.is_union = a->is_union;
  if (t.index == 0) t.index = static_cast<uint16_t>(++struct_count_);
  if (named) import_target_tag(key);
  t.looked_up = true;
  if (!tags_[key].complete) import_aggregate(key, *a);
  if (!named) tags_[key].shown = name.substr(name.find('`') + 1);
  tag_typedefs_[name] = key;
  return true;
}

void Parser::import_aggregate(const std::string& key, const TargetAggregate& target) {
  const TargetAggregate* a = &target;
  std::vector<Member> members;
  for (const auto& tm : a->members) {
    Member m;
    m.name = tm.name;
    m.offset = tm.offset;
    m.size = tm.count ? tm.size * tm.count : tm.size;
    {
      using K = PrintMember::Kind;
      K kind = tm.kind == TargetMember::Kind::integer    ? K::integer
               : tm.kind == TargetMember::Kind::pointer  ? K::pointer
               : tm.kind == TargetMember::Kind::floating ? K::floating
               : tm.kind == TargetMember::Kind::aggregate ? K::aggregate
                                                          : K::other;
      auto dot = tm.name.rfind('.');
      m.print.name = dot == std::string::npos ? tm.name : tm.name.substr(dot + 1);
      m.print.depth = 1 + static_cast<int>(std::count(tm.name.begin(), tm.name.end(), '.'));
      // An anonymous struct or union is "union", as ctf_type_name() spells it.
      m.print.type_name = tm.type_name;
      if (auto anon = m.print.type_name.find(" <anonymous>"); anon != std::string::npos)
        m.print.type_name.erase(anon, 12);
      m.print.offset = tm.offset;
      m.print.size = tm.size;
      m.print.is_signed = tm.is_signed;
      m.print.bit_offset = tm.bit_offset;
      m.print.bit_size = tm.bit_size;
      if (tm.count > 0) {
        m.print.kind = K::array;
        m.print.element = kind;
        m.print.count = tm.count;
        auto bracket = tm.type_name.find(" [");
        m.print.element_name = tm.type_name.substr(0, bracket);
      } else {
        m.print.kind = kind;
      }
      if (!tm.enumerators.empty()) {
        // An enum: print() shows its value by name.
        (tm.count > 0 ? m.print.element : m.print.kind) = K::enumeration;
        m.print.enumerators = tm.enumerators;
      }
    }
    const bool word = tm.size == 1 || tm.size == 2 || tm.size == 4 || tm.size == 8;
    if (tm.count > 0) {
      // An array: its address, as a pointer to its elements.
      m.is_array = true;
      m.type = Type::pointer(tm.kind == TargetMember::Kind::integer && word ? static_cast<uint8_t>(tm.size) : 0,
                             tm.is_signed);
    } else if (tm.bit_size > 0) {
      // A bit-field: read in the smallest word that holds it.
      uint32_t bytes = (tm.bit_offset + tm.bit_size + 7) / 8;
      uint8_t w = bytes <= 1 ? 1 : bytes <= 2 ? 2 : bytes <= 4 ? 4 : 8;
      m.type = Type::integer(w, tm.is_signed);
      m.bit_offset = tm.bit_offset;
      m.bit_size = tm.bit_size;
    } else if (tm.kind == TargetMember::Kind::integer && word) {
      m.type = Type::integer(static_cast<uint8_t>(tm.size), tm.is_signed);
    } else if (tm.kind == TargetMember::Kind::floating && (tm.size == 4 || tm.size == 8)) {
      m.type = Type::floating(static_cast<uint8_t>(tm.size));
    } else if (tm.kind == TargetMember::Kind::pointer) {
      if (!tm.pointee_aggregate.empty()) {
        Tag& pt = tags_[tm.pointee_aggregate];
        if (pt.index == 0) {
          pt.is_union = tm.pointee_aggregate.rfind("union ", 0) == 0;
          pt.index = static_cast<uint16_t>(++struct_count_);
        }
        m.type = Type::pointer();
        m.type.tag = pt.index;
      } else {
        const bool readable = tm.pointee_size == 1 || tm.pointee_size == 2 || tm.pointee_size == 4 || tm.pointee_size == 8;
        m.type = Type::pointer(readable ? static_cast<uint8_t>(tm.pointee_size) : 0, tm.pointee_signed);
      }
    }
    members.push_back(std::move(m));
  }
  Tag& done = tags_[key];
  done.from_target = true;
  done.members = std::move(members);
  done.size = a->size;
  done.align = 8;
  done.complete = true;
}

// translator OUTPUT < INPUT PARAM > { MEMBER = EXPR; ... }; — DTrace's
// rules: the output is a complete struct or union (D_XLATE_SOU), one
// translator per input and output pair (D_XLATE_REDECL, checked by sema,
// which knows the types), each MEMBER one of the output's (D_XLATE_MEMB,
// sema too).
void Parser::parse_translator(ProgramAst& prog) {
  Translator tr;
  tr.loc = tok_.loc;
  auto fail = [&](const char* id, Loc loc, const std::string& message) {
    if (!failed_statement_) diags_.error(id, loc, message);
    failed_statement_ = true;
    for (int depth = 0; tok_.kind != Tok::eof; advance()) {
      if (tok_.kind == Tok::lbrace) {
        ++depth;
      } else if (tok_.kind == Tok::rbrace) {
        --depth;
      } else if (tok_.kind == Tok::semicolon && depth <= 0) {
        advance();
        return;
      }
    }
  };
  auto near = [&]() {
    return "syntax error near " + (tok_.kind == Tok::eof ? std::string("end of input") : "'" + tok_.text + "'");
  };
  advance();  // translator
  BaseType out;
  Loc out_loc = tok_.loc;
  if (!parse_base_type(out) || out.words.empty()) return fail("D_SYNTAX", tok_.loc, near() + ": expected the translator's output type");
  int out_stars = 0;
  while (accept(Tok::star)) ++out_stars;
  if (out.tag.empty() || tags_[out.tag].is_enum || out_stars > 0)
    return fail("D_XLATE_SOU", out_loc, "translator output type must be a struct or union");
  const bool procfs = tags_[out.tag].procfs && !tags_[out.tag].complete;
  if (!procfs && !tags_[out.tag].complete && !import_target_tag(out.tag))
    return fail("D_XLATE_SOU", out_loc, "incomplete struct/union/enum " + out.tag + ": define it before the translator");
  tr.output = out.tag;
  tr.output_tag = tags_[out.tag].index;
  if (!accept(Tok::lt)) return fail("D_SYNTAX", tok_.loc, near() + ": expected '<' and the translator's input, e.g. 'translator " + out.tag + " < struct in *p >'");
  BaseType in;
  Loc in_loc = tok_.loc;
  if (!parse_base_type(in) || in.words.empty()) return fail("D_SYNTAX", tok_.loc, near() + ": expected the translator's input type");
  int in_stars = 0;
  while (accept(Tok::star)) ++in_stars;
  uint64_t object = 0;
  auto in_type = resolve_type(in, in_stars, &object);
  tr.input_name = (in.tag.empty() ? join(in.words, " ") : in.tag) +
                  (in_stars ? " " + std::string(static_cast<size_t>(in_stars), '*') : "");
  if (!in_type || (object == 0 && (in_type->is_none() || in_type->is_string() || in_type->is_floating())))
    return fail("D_XLATE_INCOMPAT", in_loc,
                "translator input type '" + tr.input_name + "' is not supported: translate from a pointer, an integer "
                "or a struct or union");
  if (procfs) {
    // procfs.d's translators to psinfo_t and lwpsinfo_t from the kernel's
    // task_struct are built in (curpsinfo, xlate<psinfo_t>(curthread));
    // another input would need a layout probekit does not have.
    if (in.tag == "struct task_struct" && in_stars == 1)
      return fail("D_XLATE_REDECL", out_loc,
                  "translator from " + tr.input_name + " to " + tags_[out.tag].shown +
                      " is built in (dtrace's procfs.d): read its members through " +
                      (out.tag == "struct psinfo" ? "curpsinfo" : "curlwpsinfo") + " instead of redeclaring it");
    return fail("D_XLATE_SOU", out_loc,
                tags_[out.tag].shown + " is translated only from the current thread (curthread), whose members "
                "probekit reads one by one: it has no layout for another translator");
  }
  // A struct or union input is a value of it (xlate<T>(s), `*p`).
  tr.input = object > 0 ? Type::aggregate(tags_[in.tag].index) : *in_type;
  if (tok_.kind != Tok::identifier) return fail("D_SYNTAX", tok_.loc, near() + ": expected the name of the translator's input");
  tr.param = tok_.text;
  advance();
  if (!accept(Tok::gt)) return fail("D_SYNTAX", tok_.loc, near() + ": expected '>' after the translator's input");
  if (!accept(Tok::lbrace)) return fail("D_SYNTAX", tok_.loc, near());
  while (!accept(Tok::rbrace)) {
    if (tok_.kind != Tok::identifier && tok_.kind != Tok::kw_type) return fail("D_SYNTAX", tok_.loc, near());
    Translator::Member m;
    m.name = tok_.text;
    m.loc = tok_.loc;
    advance();
    if (!accept(Tok::assign)) return fail("D_SYNTAX", tok_.loc, near() + ": expected '=' after member '" + m.name + "'");
    m.value = parse_ternary();
    if (!m.value || failed_statement_) return fail("D_SYNTAX", tok_.loc, near());
    if (!accept(Tok::semicolon)) return fail("D_SYNTAX", tok_.loc, near() + ": expected ';' after the member's value");
    tr.members.push_back(std::move(m));
  }
  if (!accept(Tok::semicolon)) {
    diags_.error("D_SYNTAX", tok_.loc, near() + ": a translator ends with '};'");
    failed_statement_ = true;
    return;
  }
  prog.translators.push_back(std::move(tr));
}

// xlate <OUTPUT> (EXPR), xlate <OUTPUT *> (EXPR): what sema turns into the
// translator's member expression once a member is named.
ExprPtr Parser::parse_xlate() {
  Loc loc = tok_.loc;
  advance();  // xlate
  if (!expect(Tok::lt, "'<' and the output type after 'xlate'")) return nullptr;
  BaseType out;
  Loc out_loc = tok_.loc;
  if (!parse_base_type(out) || out.words.empty()) {
    error_here("expected the output type of 'xlate'");
    return nullptr;
  }
  int stars = 0;
  while (accept(Tok::star)) ++stars;
  if (out.tag.empty() || tags_[out.tag].is_enum || stars > 1) {
    diags_.error("D_XLATE_SOU", out_loc, "xlate output type must be a struct or union, or a pointer to one");
    failed_statement_ = true;
    return nullptr;
  }
  if (!expect(Tok::gt, "'>' after the output type")) return nullptr;
  if (!expect(Tok::lparen, "'(' and the value to translate")) return nullptr;
  auto in = parse_expr();
  if (!in || !expect(Tok::rparen, "')' after the value to translate")) return nullptr;
  auto e = make(ExprKind::xlate, loc);
  e->text = out.tag;
  e->is_postfix = stars == 1;
  e->ival = tags_[out.tag].index;
  e->kids.push_back(std::move(in));
  if (!check_height(*e)) return nullptr;
  return e;
}

// offsetof(struct foo, member): a constant.
ExprPtr Parser::parse_offsetof() {
  Loc loc = tok_.loc;
  advance();  // offsetof
  if (!expect(Tok::lparen, "'(' after 'offsetof'")) return nullptr;
  Loc tloc = tok_.loc;
  if (tok_.kind == Tok::identifier && !at_type_name()) {
    // Not a type at all: dtrace's grammar wants a type name here.
    error_here("syntax error near '" + tok_.text + "': offsetof() wants a struct or union type, e.g. 'struct foo'");
    return nullptr;
  }
  std::string key = at_tag_type() ? parse_tag_type() : std::string();
  if (key.empty() || tags_[key].is_enum) {
    if (!failed_statement_) diags_.error("D_OFFSETOF_TYPE", tloc, "offsetof operand must be a struct or union type");
    failed_statement_ = true;
    return nullptr;
  }
  if (!expect(Tok::comma, "',' and a member name")) return nullptr;
  if (tok_.kind != Tok::identifier && tok_.kind != Tok::kw_type) {
    error_here("expected a member name in offsetof()");
    return nullptr;
  }
  std::string member = tok_.text;
  Loc mloc = tok_.loc;
  advance();
  if (!expect(Tok::rparen, "')' to close offsetof()")) return nullptr;
  const Tag& t = tags_[key];
  if (!t.complete) {
    // A forward declaration is not a struct type to CTF (dt_node_offsetof).
    diags_.error("D_OFFSETOF_TYPE", tloc, "offsetof operand must be a complete struct or union: define " + key + " first");
    failed_statement_ = true;
    return nullptr;
  }
  for (const auto& m : t.members)
    if (m.name == member) {
      if (m.bit_size > 0) {
        diags_.error("D_OFFSETOF_BITFIELD", mloc,
                     "cannot take the offset of bit-field '" + member + "' of " + key + ": it need not start at a byte");
        failed_statement_ = true;
        return nullptr;
      }
      auto e = make(ExprKind::integer, loc);
      e->ival = m.offset;
      e->type = Type::integer(8, false);
      return e;
    }
  diags_.error("D_UNKNOWN", mloc, key + " has no member '" + member + "'");
  failed_statement_ = true;
  return nullptr;
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
        in_sizeof_ = true;
        auto t = parse_type_name();
        in_sizeof_ = false;
        if (!t) return nullptr;
        if (!expect(Tok::rparen, "')' after the type name")) return nullptr;
        if (aggregate_size_) {  // sizeof (struct foo): a constant
          auto n = make(ExprKind::integer, loc);
          n->ival = *aggregate_size_;
          n->type = Type::integer(8, false);
          return n;
        }
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
      // (struct s)v: sema takes it only of a value of that struct.
      const std::optional<Type> object =
          aggregate_size_ ? std::optional<Type>(Type::aggregate(aggregate_tag_)) : std::nullopt;
      if (!expect(Tok::rparen, "')' to close the cast")) return nullptr;
      auto e = parse_unary();
      if (!e) return nullptr;
      auto n = make(ExprKind::cast, loc);
      n->cast_type = object ? *object : *t;
      n->kids.push_back(std::move(e));
      if (!check_height(*n)) return nullptr;
      return n;
    }
    auto inner = parse_expr();
    if (!inner) return nullptr;
    if (!expect(Tok::rparen, "')'")) return nullptr;
    // Postfix operators may follow a parenthesized expression:
    // ((struct foo *)arg0)->a.b, (x)++.
    return parse_postfix_ops(std::move(inner));
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
    // An aggregation is a primary expression (printa(@a); trace(@a + 3),
    // which sema refuses as dtrace does: D_OP_INCOMPAT).
    ExprPtr a = parse_assignment();
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

ExprPtr Parser::parse_postfix() { return parse_postfix_ops(parse_primary()); }

ExprPtr Parser::parse_postfix_ops(ExprPtr e) {
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
    } else if (tok_.kind == Tok::arrow ||
               (tok_.kind == Tok::dot && e->kind == ExprKind::xlate && !e->is_postfix)) {
      // p->member, typed by sema from the struct p points to; and
      // xlate<struct out>(p).member.
      const Loc at = tok_.loc;
      const bool arrow = tok_.kind == Tok::arrow;
      advance();
      if (tok_.kind != Tok::identifier && tok_.kind != Tok::kw_type) {
        error_here(arrow ? "expected a member name after '->'" : "expected a member name after '.'");
        return nullptr;
      }
      auto m = make(ExprKind::member, at);
      m->text = tok_.text;
      m->loc.length = tok_.loc.column + tok_.loc.length - at.column;
      advance();
      m->kids.push_back(std::move(e));
      if (!check_height(*m)) return nullptr;
      e = std::move(m);
    } else if (tok_.kind == Tok::dot && e->kind == ExprKind::member && !e->kids.empty()) {
      // p->a.b: a member of a nested struct, which the target's types list
      // flattened as "a.b".
      advance();
      if (tok_.kind != Tok::identifier && tok_.kind != Tok::kw_type) {
        error_here("expected a member name after '.'");
        return nullptr;
      }
      e->text += "." + tok_.text;
      e->loc.length = tok_.loc.column + tok_.loc.length - e->loc.column;
      advance();
    } else if (tok_.kind == Tok::lbracket && e->kind == ExprKind::self_var) {
      // self->a[k, ...]: a thread-local associative array, DTrace's
      // DT_IDFLG_TLS array. It is the global array "self->a" keyed first by
      // the thread (tid), so each thread has its own elements. Sema turns
      // self->p[i] of a pointer or string self-> variable back into
      // *(self->p + i), which the parser cannot tell apart.
      Loc at = tok_.loc;
      advance();
      auto idx = make(ExprKind::index, e->loc);
      idx->text = "self->" + e->text;
      auto tid = make(ExprKind::ident, e->loc);
      tid->text = "tid";
      idx->kids.push_back(std::move(tid));
      auto keys = parse_args(Tok::rbracket);
      if (failed_statement_) return nullptr;
      if (keys.empty()) {
        failed_statement_ = true;
        diags_.error("D_SYNTAX", at, "expected an index in '[]'");
        return nullptr;
      }
      for (auto& k : keys) idx->kids.push_back(std::move(k));
      if (!check_height(*idx)) return nullptr;
      e = std::move(idx);
    } else if (tok_.kind == Tok::lbracket && e->kind != ExprKind::agg_ref) {
      // E[i] is *(E + i), as in C, for any expression but a name (a name
      // is an array, args[] or uregs[]; sema turns a pointer or string
      // variable's p[i] into the same): p->a[i] (an array member being the
      // address of its first element), this->p[i], ((char *)p)[32],
      // func(x)[i]. The sum is marked (is_postfix) so that sema can tell
      // indexing from arithmetic: a string can be indexed (s[i] is its
      // char i) but not added to.
      Loc at = tok_.loc;
      advance();
      auto keys = parse_args(Tok::rbracket);
      if (failed_statement_) return nullptr;
      if (keys.size() != 1) {
        // Several keys make an associative array, which only a name is.
        failed_statement_ = true;
        if (e->kind == ExprKind::this_var)
          diags_.error("D_ARR_LOCAL", at, "local variables may not be used as associative arrays: this->" + e->text);
        else
          diags_.error("D_SYNTAX", at, keys.empty() ? "expected an index in '[]'" : "an index is one expression");
        return nullptr;
      }
      auto index = std::move(keys[0]);
      auto sum = make(ExprKind::binary, at);
      sum->op = Op::add;
      sum->is_postfix = true;
      sum->kids.push_back(std::move(e));
      sum->kids.push_back(std::move(index));
      auto deref = make(ExprKind::unary, at);
      deref->op = Op::deref;
      deref->kids.push_back(std::move(sum));
      if (!check_height(*deref)) return nullptr;
      e = std::move(deref);
    } else if (tok_.kind == Tok::dot) {
      // x.member of a struct or union value (sema checks that x is one).
      const Loc at = tok_.loc;
      advance();
      if (tok_.kind != Tok::identifier && tok_.kind != Tok::kw_type) {
        error_here("expected a member name after '.'");
        return nullptr;
      }
      auto m = make(ExprKind::member, at);
      m->text = tok_.text;
      m->is_postfix = true;
      m->loc.length = tok_.loc.column + tok_.loc.length - at.column;
      advance();
      m->kids.push_back(std::move(e));
      if (!check_height(*m)) return nullptr;
      e = std::move(m);
    } else if (tok_.kind == Tok::lparen) {
      // `tick-1()` is tick - 1(): dt_node_func() refuses a designator that
      // is not a name while it parses (D_FUNC_IDENT).
      if (!failed_statement_ && diags_.error_count() == statement_errors_)
        diags_.error("D_FUNC_IDENT", tok_.loc,
                     "only names can be called: '(' cannot follow this expression (a '-' in a probe name, as in "
                     "tick-1, needs the probe's own clause: tick-1 { ... })");
      failed_statement_ = true;
      return nullptr;
    } else if (tok_.kind == Tok::lbracket) {
      error_here("only names can be called: '" + tok_.text + "' cannot follow this expression");
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
      // An int, as in C and dtrace (sizeof ('c') is 4); a constant of more
      // than four characters is a long.
      const auto v = static_cast<int64_t>(tok_.ival);
      e->type = Type::integer(v >= INT32_MIN && v <= INT32_MAX ? 4 : 8, true);
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
    if (tok_.text == "offsetof") return parse_offsetof();
    if (tok_.text == "xlate") return parse_xlate();
    if (auto it = enumerators_.find(tok_.text); it != enumerators_.end()) {
      auto e = make(ExprKind::integer, loc);
      e->ival = static_cast<uint64_t>(it->second);
      e->type = Type::integer(4, true);
      advance();
      return e;
    }
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
