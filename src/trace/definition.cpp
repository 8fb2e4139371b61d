#include "trace/definition.h"

#include <cctype>
#include <set>

#include "util/strings.h"

namespace probekit::trace {

namespace {

constexpr size_t kMaxArgs = 128;       // the kernel's MAX_TRACE_ARGS
constexpr int kMaxDerefDepth = 64;     // bounds recursion on hostile input
constexpr int kMaxActiveLimit = 4096;  // the kernel's KRETPROBE_MAXACTIVE_MAX

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The kernel's is_good_name(): [A-Za-z_][A-Za-z0-9_]*.
bool is_good_name(std::string_view s) {
  if (s.empty() || !is_ident_start(s[0])) return false;
  for (char c : s)
    if (!is_ident_char(c)) return false;
  return true;
}

std::string sanitize_event_name(std::string s) {
  for (char& c : s)
    if (!is_ident_char(c)) c = '_';
  if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) s.insert(0, "_");
  return s;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates,
                         std::string_view prefix = "") {
  auto near = closest_matches(name, candidates, 3);
  if (near.empty()) return "";
  std::string out = "; did you mean ";
  for (size_t i = 0; i < near.size(); ++i) {
    if (i) out += i + 1 == near.size() ? " or " : ", ";
    out += quoted(std::string(prefix) + near[i]);
  }
  return out + "?";
}

const std::vector<std::string>& type_names() {
  static const std::vector<std::string> names = {
      "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "x8", "x16", "x32", "x64",
      "f32", "f64", "string", "ustring", "symbol"};
  return names;
}

struct Token {
  std::string_view text;
  size_t pos;  // 0-based offset in the definition
};

// Splits on blanks; a double-quoted run (immediate strings) keeps its blanks.
std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < s.size()) {
    while (i < s.size() && blank(s[i])) ++i;
    if (i >= s.size()) break;
    size_t start = i;
    bool in_quote = false;
    while (i < s.size() && (in_quote || !blank(s[i]))) {
      if (s[i] == '"') in_quote = !in_quote;
      ++i;
    }
    out.push_back({s.substr(start, i - start), start});
  }
  return out;
}

// The body of a fetch-arg as parsed, before NAME and TYPE are attached.
struct Body {
  FetchBase base = FetchBase::immediate;
  RegisterRef reg;
  uint8_t xmm = 0;
  uint64_t immediate = 0;
  std::string text;
  std::vector<int64_t> derefs;
};

class Parser {
public:
  Parser(std::string_view text, const ParseOptions& options) : text_(text), options_(options) {}

  Result<Definition> run(std::vector<Error>* all) {
    Definition def;
    def.text = std::string(text_);
    def.source_file = options_.file;
    def.source_line = options_.line;
    parse(def);
    if (all) *all = errors_;
    if (!errors_.empty()) return errors_.front();
    return def;
  }

private:
  // Records an error at 0-based offset `pos` of the definition text.
  void error(size_t pos, size_t len, std::string message) {
    Error e(std::move(message), ErrorKind::parse);
    e.at(SourceRange{options_.file, options_.line, static_cast<int>(pos) + 1,
                     static_cast<int>(len == 0 ? 1 : len)});
    errors_.push_back(std::move(e));
  }

  void parse(Definition& def) {
    auto tokens = tokenize(text_);
    if (tokens.empty()) {
      error(0, 1, "empty probe definition: expected 'p[:EVENT] SYMBOL [ARGS]' or 'r[:EVENT] SYMBOL [ARGS]'");
      return;
    }
    split_shorthand(tokens);
    if (!parse_head(tokens[0], def)) return;
    if (tokens.size() < 2) {
      error(text_.size(), 1,
            "missing probe location: expected [MODULE:]SYMBOL[+OFFS] or [MODULE:]0xADDR");
      return;
    }
    if (!parse_location(tokens[1], def)) return;
    if (tokens.size() - 2 > kMaxArgs) {
      error(tokens[2 + kMaxArgs].pos, tokens[2 + kMaxArgs].text.size(),
            "too many fetch arguments: at most " + std::to_string(kMaxArgs));
      return;
    }
    std::set<std::string> names;
    for (size_t i = 2; i < tokens.size(); ++i) {
      auto arg = parse_arg(tokens[i], def, i - 1);
      if (!arg) continue;
      if (!names.insert(arg->name).second) {
        error(tokens[i].pos, tokens[i].text.size(),
              "duplicate argument name " + quoted(arg->name) + ": give each argument its own NAME=");
        continue;
      }
      def.args.push_back(std::move(*arg));
    }
  }

  // The shorthand "p:LOCATION [ARGS]" (issue 2's own example is
  // 'p:libc.so.6:malloc size=%di:u64'): when what follows "p:X" is missing or
  // is a fetch-arg, X cannot be an event name, so it is the location. A
  // "GRP/" in X keeps the kernel's reading.
  static void split_shorthand(std::vector<Token>& tokens) {
    std::string_view t = tokens[0].text;
    size_t colon = t.find(':');
    if (colon == std::string_view::npos || colon + 1 == t.size() || (t[0] != 'p' && t[0] != 'r' && t[0] != 'u'))
      return;
    std::string_view rest = t.substr(colon + 1);
    if (t[0] == 'u' && colon == 1 && rest.find(':') != std::string_view::npos) {
      // u:MODULE:PROVIDER:NAME: an event name has no ':'.
      Token head{t.substr(0, colon), tokens[0].pos};
      Token loc{rest, tokens[0].pos + colon + 1};
      tokens[0] = head;
      tokens.insert(tokens.begin() + 1, loc);
      return;
    }
    if (rest.find('/') != std::string_view::npos) return;
    if (tokens.size() >= 2) {
      std::string_view next = tokens[1].text;
      static constexpr std::string_view kStarts = "%@$\\+-";
      if (kStarts.find(next[0]) == std::string_view::npos && next.find('=') == std::string_view::npos) return;
    }
    Token head{t.substr(0, colon), tokens[0].pos};
    Token loc{rest, tokens[0].pos + colon + 1};
    tokens[0] = head;
    tokens.insert(tokens.begin() + 1, loc);
  }

  // p[:[GRP/]EVENT], r[MAXACTIVE][:[GRP/]EVENT]
  bool parse_head(const Token& tok, Definition& def) {
    std::string_view t = tok.text;
    char k = t[0];
    if (k == '-') {
      error(tok.pos, 1, "removing events ('-:EVENT') is not supported: probes go away when probekit exits");
      return false;
    }
    if (k != 'p' && k != 'r' && k != 'u') {
      size_t len = t.find(':');
      error(tok.pos, len == std::string_view::npos ? t.size() : len,
            "unknown probe type " + quoted(t.substr(0, len)) +
                ": use 'p' for an entry/offset probe, 'r' for a return probe or 'u' for a USDT probe");
      return false;
    }
    def.kind = k == 'r' ? ProbeKind::ret : ProbeKind::entry;
    def.usdt = k == 'u';
    if (def.usdt && t.size() > 1 && std::isdigit(static_cast<unsigned char>(t[1]))) {
      error(tok.pos + 1, 1, "MAXACTIVE is only for return probes: write 'u' or 'u:EVENT'");
      return false;
    }
    size_t i = 1;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    if (i > 1) {
      std::string_view digits = t.substr(1, i - 1);
      if (k == 'p') {
        error(tok.pos + 1, digits.size(), "MAXACTIVE " + quoted(digits) + " is only for return probes: write 'r" +
                                              std::string(digits) + "'");
        return false;
      }
      auto n = parse_uint(digits, 10);
      if (!n || *n == 0 || *n > static_cast<uint64_t>(kMaxActiveLimit)) {
        error(tok.pos + 1, digits.size(),
              "MAXACTIVE " + quoted(digits) + " is out of range: use 1 to " + std::to_string(kMaxActiveLimit));
        return false;
      }
      def.maxactive = static_cast<int>(*n);
    }
    if (i == t.size()) return true;
    if (t[i] != ':') {
      error(tok.pos + i, 1, "unexpected " + quoted(t.substr(i, 1)) + " after the probe type: expected ':EVENT' or a blank");
      return false;
    }
    ++i;
    std::string_view rest = t.substr(i);
    size_t slash = rest.find('/');
    std::string_view event = rest;
    if (slash != std::string_view::npos) {
      std::string_view group = rest.substr(0, slash);
      event = rest.substr(slash + 1);
      if (!is_good_name(group)) {
        error(tok.pos + i, group.size(),
              "bad group name " + quoted(group) + ": use letters, digits and '_', not starting with a digit");
        return false;
      }
      def.group = std::string(group);
      group_given_ = true;
      i += slash + 1;
    } else if (rest.empty()) {
      error(tok.pos + i, 1, "missing event name after ':'");
      return false;
    }
    if (!event.empty()) {
      if (!is_good_name(event)) {
        error(tok.pos + i, event.size(),
              "bad event name " + quoted(event) + ": use letters, digits and '_', not starting with a digit");
        return false;
      }
      def.event = std::string(event);
    }
    return true;
  }

  // MODULE:PROVIDER:NAME
  bool parse_usdt_location(const Token& tok, Definition& def) {
    std::string_view t = tok.text;
    size_t c1 = t.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : t.find(':', c1 + 1);
    if (c2 == std::string_view::npos || t.find(':', c2 + 1) != std::string_view::npos || c1 == 0 ||
        c2 == c1 + 1 || c2 + 1 == t.size()) {
      error(tok.pos, t.size(),
            "a USDT probe is named MODULE:PROVIDER:NAME ('a.out:python:function__entry'), not " + quoted(t));
      return false;
    }
    def.module = std::string(t.substr(0, c1));
    def.usdt_provider = std::string(t.substr(c1 + 1, c2 - c1 - 1));
    def.usdt_name = std::string(t.substr(c2 + 1));
    if (!group_given_) def.group = sanitize_event_name("sdt_" + def.usdt_provider);
    if (def.event.empty()) def.event = sanitize_event_name(def.usdt_name);
    return true;
  }

  // [MODULE:]SYMBOL[+OFFS][%return] | [MODULE:]0xADDR[%return]
  bool parse_location(const Token& tok, Definition& def) {
    if (def.usdt) return parse_usdt_location(tok, def);
    std::string_view t = tok.text;
    size_t base = tok.pos;
    constexpr std::string_view kReturn = "%return";
    if (ends_with(t, kReturn)) {
      t.remove_suffix(kReturn.size());
      def.kind = ProbeKind::ret;
    } else if (size_t pct = t.find('%'); pct != std::string_view::npos) {
      error(base + pct, t.size() - pct, "unknown suffix " + quoted(t.substr(pct)) + ": only '%return' is accepted");
      return false;
    }
    // The module ends at the first ':' that is not part of "::".
    size_t colon = std::string_view::npos;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] != ':') continue;
      if (i + 1 < t.size() && t[i + 1] == ':') {
        ++i;
        continue;
      }
      colon = i;
      break;
    }
    size_t sym_pos = 0;
    if (colon != std::string_view::npos) {
      if (colon == 0) {
        error(base, 1, "empty module name before ':': write MODULE:SYMBOL or just SYMBOL");
        return false;
      }
      def.module = std::string(t.substr(0, colon));
      sym_pos = colon + 1;
    }
    std::string_view where = t.substr(sym_pos);
    if (where.empty()) {
      error(base + sym_pos, 1, "missing symbol or address after " + quoted(t.substr(0, sym_pos)));
      return false;
    }
    if (std::isdigit(static_cast<unsigned char>(where[0]))) {
      auto addr = parse_uint(where);
      if (!addr) {
        error(base + sym_pos, where.size(),
              "invalid address " + quoted(where) + ": write it in hex (0x401000) or decimal");
        return false;
      }
      def.address = *addr;
    } else {
      size_t plus = where.rfind('+');
      std::string_view sym = where;
      if (plus != std::string_view::npos && plus > 0) {
        std::string_view offs = where.substr(plus + 1);
        auto off = parse_uint(offs);
        if (!off) {
          error(base + sym_pos + plus + 1, offs.empty() ? 1 : offs.size(),
                offs.empty() ? std::string("missing offset after '+'")
                             : "invalid offset " + quoted(offs) + ": write a number such as 16 or 0x10");
          return false;
        }
        def.offset = *off;
        sym = where.substr(0, plus);
        if (def.kind == ProbeKind::ret && *off != 0) {
          error(base + sym_pos + plus, where.size() - plus,
                "return probes go on a function's entry: drop " + quoted(where.substr(plus)) + " or use 'p'");
          return false;
        }
      }
      def.symbol = std::string(sym);
    }
    if (def.event.empty()) def.event = default_event_name(def);
    return true;
  }

  static std::string default_event_name(const Definition& def) {
    std::string prefix = def.kind == ProbeKind::ret ? "r_" : "p_";
    if (def.address) {
      std::string mod;
      if (!def.module.empty()) {
        size_t slash = def.module.rfind('/');
        mod = (slash == std::string::npos ? def.module : def.module.substr(slash + 1)) + "_";
      }
      return sanitize_event_name(prefix + mod + hex(*def.address));
    }
    return sanitize_event_name(prefix + def.symbol + "_" + std::to_string(def.offset));
  }

  // [NAME=]FETCHARG[:TYPE]
  std::optional<FetchArg> parse_arg(const Token& tok, const Definition& def, size_t index) {
    std::string_view t = tok.text;
    FetchArg arg;
    arg.spelling = std::string(t);
    arg.column = static_cast<int>(tok.pos) + 1;
    size_t i = 0;
    static constexpr std::string_view kStarts = "%@$\\+-";
    if (kStarts.find(t[0]) == std::string_view::npos) {
      size_t eq = t.find('=');
      if (eq == std::string_view::npos) {
        error(tok.pos, t.size(),
              "unknown fetch argument " + quoted(t) +
                  ": expected [NAME=] and one of %REG, @ADDR, @SYMBOL, $stackN, $stack, $argN, $arg:NAME, "
                  "$retval, $comm, \\IMM or +OFFS(FETCHARG)");
        return std::nullopt;
      }
      std::string_view name = t.substr(0, eq);
      if (!is_good_name(name)) {
        error(tok.pos, eq == 0 ? 1 : eq,
              eq == 0 ? std::string("missing argument name before '='")
                      : "bad argument name " + quoted(name) +
                            ": use letters, digits and '_', not starting with a digit");
        return std::nullopt;
      }
      arg.name = std::string(name);
      i = eq + 1;
      if (i == t.size()) {
        error(tok.pos + i, 1, "missing fetch argument after " + quoted(t));
        return std::nullopt;
      }
    } else {
      arg.name = "arg" + std::to_string(index);
    }
    arg_start_ = tok.pos;
    auto body = parse_body(t, i, def, 0);
    if (!body) return std::nullopt;
    arg.base = body->base;
    arg.reg = body->reg;
    arg.xmm = body->xmm;
    arg.immediate = body->immediate;
    arg.text = std::move(body->text);
    arg.derefs = std::move(body->derefs);
    if (arg.base == FetchBase::comm || arg.base == FetchBase::immediate_string)
      arg.type = FetchType{TypeKind::string, 0};
    if (i < t.size()) {
      if (t[i] != ':') {
        error(tok.pos + i, 1,
              "unexpected " + quoted(t.substr(i, 1)) + " after " + quoted(t.substr(0, i)) +
                  ": expected ':TYPE' or the end of the argument");
        return std::nullopt;
      }
      std::string_view tname = t.substr(i + 1);
      size_t tpos = tok.pos + i + 1;
      if (tname.empty()) {
        error(tpos, 1, "missing type after ':': use u8..u64, s8..s64, x8..x64, f32, f64, string or symbol");
        return std::nullopt;
      }
      if (tname.find('[') != std::string_view::npos) {
        error(tpos, tname.size(), "array types such as " + quoted(tname) + " are not supported");
        return std::nullopt;
      }
      auto type = FetchType::parse(tname);
      if (!type) {
        error(tpos, tname.size(), "unknown type " + quoted(tname) + did_you_mean(tname, type_names()));
        return std::nullopt;
      }
      if ((arg.base == FetchBase::comm || arg.base == FetchBase::immediate_string) &&
          type->kind != TypeKind::string) {
        error(tpos, tname.size(),
              std::string(arg.base == FetchBase::comm ? "'$comm'" : "an immediate string") +
                  " is a string: drop ':" + std::string(tname) + "' or write ':string'");
        return std::nullopt;
      }
      arg.type = *type;
      arg.type_given = true;
    }
    return arg;
  }

  // Scans a run of [A-Za-z0-9_] starting at i (numbers, names).
  static size_t scan_word(std::string_view t, size_t i) {
    while (i < t.size() && is_ident_char(t[i])) ++i;
    return i;
  }

  // One FETCHARG body starting at t[i]; on success i is just past it.
  std::optional<Body> parse_body(std::string_view t, size_t& i, const Definition& def, int depth) {
    size_t at = arg_start_ + i;
    if (i >= t.size()) {
      error(at, 1, "missing fetch argument");
      return std::nullopt;
    }
    Body b;
    char c = t[i];
    if (c == '%') {
      size_t end = scan_word(t, i + 1);
      std::string_view name = t.substr(i + 1, end - i - 1);
      if (auto x = find_xmm_register(name)) {
        b.base = FetchBase::xmm;
        b.xmm = *x;
        i = end;
        return b;
      }
      auto reg = find_register(name);
      if (!reg) {
        error(at, end - i,
              name.empty() ? std::string("missing register name after '%'")
                           : "unknown register " + quoted("%" + std::string(name)) +
                                 did_you_mean(name, register_names(), "%"));
        return std::nullopt;
      }
      b.base = FetchBase::reg;
      b.reg = *reg;
      i = end;
      return b;
    }
    if (c == '@') {
      if (i + 1 < t.size() && (t[i + 1] == '+' || t[i + 1] == '-')) {
        error(at, 2, "file-offset fetches ('@+OFFSET') are not supported: use @ADDR or @SYMBOL");
        return std::nullopt;
      }
      if (i + 1 < t.size() && std::isdigit(static_cast<unsigned char>(t[i + 1]))) {
        size_t end = scan_word(t, i + 1);
        std::string_view num = t.substr(i + 1, end - i - 1);
        auto addr = parse_uint(num);
        if (!addr) {
          error(at + 1, num.size(), "invalid address " + quoted(num) + ": write it in hex (0x601040) or decimal");
          return std::nullopt;
        }
        b.base = FetchBase::immediate;
        b.immediate = *addr;
        b.derefs.push_back(0);
        i = end;
        return b;
      }
      size_t end = i + 1;
      while (end < t.size() && (is_ident_char(t[end]) || t[end] == '.' || t[end] == '$')) ++end;
      std::string_view sym = t.substr(i + 1, end - i - 1);
      if (sym.empty() || std::isdigit(static_cast<unsigned char>(sym[0]))) {
        error(at, 1, "expected an address or a symbol after '@'");
        return std::nullopt;
      }
      int64_t off = 0;
      if (end < t.size() && (t[end] == '+' || t[end] == '-')) {
        size_t nend = scan_word(t, end + 1);
        std::string_view num = t.substr(end + 1, nend - end - 1);
        auto v = parse_uint(num);
        if (!v || *v > static_cast<uint64_t>(INT64_MAX)) {
          error(arg_start_ + end + 1, num.empty() ? 1 : num.size(),
                "invalid offset " + quoted(num) + " after " + quoted(t.substr(i, end - i)));
          return std::nullopt;
        }
        off = t[end] == '-' ? -static_cast<int64_t>(*v) : static_cast<int64_t>(*v);
        end = nend;
      }
      b.base = FetchBase::symbol_address;
      b.text = std::string(sym);
      b.derefs.push_back(off);
      i = end;
      return b;
    }
    if (c == '$') {
      size_t end = scan_word(t, i + 1);
      std::string_view var = t.substr(i + 1, end - i - 1);
      std::string spelled = "$" + std::string(var);
      if (var == "arg" && end < t.size() && t[end] == ':') {
        size_t nend = scan_word(t, end + 1);
        std::string_view pname = t.substr(end + 1, nend - end - 1);
        if (!is_good_name(pname)) {
          error(arg_start_ + end + 1, pname.empty() ? 1 : pname.size(),
                "expected a parameter name after '$arg:'");
          return std::nullopt;
        }
        if (!entry_check(def, at, nend - i, "$arg:" + std::string(pname))) return std::nullopt;
        b.base = FetchBase::arg_name;
        b.text = std::string(pname);
        i = nend;
        return b;
      }
      if (var == "retval") {
        if (def.kind != ProbeKind::ret) {
          error(at, end - i, "'$retval' is only available in return probes ('r:')");
          return std::nullopt;
        }
        b.base = FetchBase::reg;
        b.reg = RegisterRef{Gpr::rax, 64, 0};
        i = end;
        return b;
      }
      if (var == "comm") {
        if (depth > 0) {
          error(at, end - i, "'$comm' is a string and cannot be dereferenced");
          return std::nullopt;
        }
        b.base = FetchBase::comm;
        i = end;
        return b;
      }
      if (var == "stack") {
        b.base = FetchBase::reg;
        b.reg = RegisterRef{Gpr::rsp, 64, 0};
        i = end;
        return b;
      }
      auto numbered = [&](std::string_view prefix) -> std::optional<uint64_t> {
        if (!starts_with(var, prefix) || var.size() == prefix.size()) return std::nullopt;
        for (char d : var.substr(prefix.size()))
          if (!std::isdigit(static_cast<unsigned char>(d))) return std::nullopt;
        return parse_uint(var.substr(prefix.size()), 10);
      };
      if (auto n = numbered("stack")) {
        if (*n > 1024 * 1024) {
          error(at, end - i, quoted(spelled) + " is too deep: N must be at most 1048576");
          return std::nullopt;
        }
        b.base = FetchBase::reg;
        b.reg = RegisterRef{Gpr::rsp, 64, 0};
        b.derefs.push_back(static_cast<int64_t>(*n * 8));
        i = end;
        return b;
      }
      if (auto n = numbered("arg")) {
        if (*n == 0 || *n > 1024 * 1024) {
          error(at, end - i, *n == 0 ? std::string("'$arg0' does not exist: arguments count from '$arg1'")
                                     : quoted(spelled) + " is out of range");
          return std::nullopt;
        }
        if (!entry_check(def, at, end - i, spelled)) return std::nullopt;
        if (def.usdt) {  // the note says where: lowered by the CLI (resolve_arg_names)
          b.base = FetchBase::arg_name;
          b.text = std::to_string(*n);
          i = end;
          return b;
        }
        static constexpr Gpr kArgRegs[] = {Gpr::rdi, Gpr::rsi, Gpr::rdx, Gpr::rcx, Gpr::r8, Gpr::r9};
        b.base = FetchBase::reg;
        if (*n <= 6) {
          b.reg = RegisterRef{kArgRegs[*n - 1], 64, 0};
        } else {
          // At the entry, [rsp] is the return address; the 7th argument is above it.
          b.reg = RegisterRef{Gpr::rsp, 64, 0};
          b.derefs.push_back(static_cast<int64_t>((*n - 6) * 8));
        }
        i = end;
        return b;
      }
      error(at, std::max<size_t>(end - i, 1),
            "unknown variable " + quoted(spelled) +
                "; expected $stack, $stackN, $argN, $arg:NAME, $retval or $comm" +
                did_you_mean(var, {"stack", "retval", "comm", "arg1", "stack0"}, "$"));
      return std::nullopt;
    }
    if (c == '\\') {
      if (i + 1 < t.size() && t[i + 1] == '"') {
        size_t close = t.find('"', i + 2);
        if (close == std::string_view::npos) {
          error(at + 1, 1, "unterminated immediate string: add the closing '\"'");
          return std::nullopt;
        }
        if (depth > 0) {
          error(at, close + 1 - i, "an immediate string cannot be dereferenced");
          return std::nullopt;
        }
        b.base = FetchBase::immediate_string;
        b.text = std::string(t.substr(i + 2, close - i - 2));
        i = close + 1;
        return b;
      }
      size_t start = i + 1;
      if (start < t.size() && (t[start] == '-' || t[start] == '+')) ++start;
      size_t end = scan_word(t, start);
      std::string_view num = t.substr(i + 1, end - i - 1);
      auto v = parse_int(num);
      std::optional<uint64_t> u;
      if (!v) u = parse_uint(num);
      if (!v && !u) {
        error(at + 1, num.empty() ? 1 : num.size(),
              num.empty() ? std::string("missing value after '\\': write \\123, \\0x7b or \\\"text\"")
                          : "invalid immediate " + quoted(num));
        return std::nullopt;
      }
      b.base = FetchBase::immediate;
      b.immediate = v ? static_cast<uint64_t>(*v) : *u;
      i = end;
      return b;
    }
    if (c == '+' || c == '-') {
      size_t start = i + 1;
      if (start < t.size() && t[start] == 'u') ++start;  // +uOFFS: user memory, which is all we read
      size_t end = scan_word(t, start);
      std::string_view num = t.substr(start, end - start);
      auto v = parse_uint(num);
      if (!v || *v > static_cast<uint64_t>(INT64_MAX)) {
        error(arg_start_ + start, num.empty() ? 1 : num.size(),
              num.empty() ? "missing offset after " + quoted(t.substr(i, 1))
                          : "invalid offset " + quoted(num) + ": write a number such as 8 or 0x10");
        return std::nullopt;
      }
      if (end >= t.size() || t[end] != '(') {
        error(arg_start_ + end, 1, "expected '(' after the offset " + quoted(t.substr(i, end - i)) +
                                       ": write +OFFS(FETCHARG)");
        return std::nullopt;
      }
      if (depth >= kMaxDerefDepth) {
        error(at, 1, "dereferences nested too deeply: at most " + std::to_string(kMaxDerefDepth) + " levels");
        return std::nullopt;
      }
      size_t open = end;
      i = end + 1;
      auto inner = parse_body(t, i, def, depth + 1);
      if (!inner) return std::nullopt;
      if (i >= t.size() || t[i] != ')') {
        error(arg_start_ + std::min(i, t.size()), 1,
              "missing ')' to close the '(' at column " + std::to_string(arg_start_ + open + 1));
        return std::nullopt;
      }
      ++i;
      int64_t off = c == '-' ? -static_cast<int64_t>(*v) : static_cast<int64_t>(*v);
      inner->derefs.push_back(off);
      return inner;
    }
    error(at, 1,
          "unexpected " + quoted(t.substr(i, 1)) +
              ": expected %REG, @ADDR, @SYMBOL, $stackN, $stack, $argN, $arg:NAME, $retval, $comm, "
              "\\IMM or +OFFS(FETCHARG)");
    return std::nullopt;
  }

  // $argN and $arg:NAME read the argument registers, which hold the
  // arguments only at a function's first instruction.
  bool entry_check(const Definition& def, size_t at, size_t len, const std::string& spelled) {
    if (def.kind == ProbeKind::ret) {
      error(at, len, quoted(spelled) + " is only available at a function's entry, not in return probes");
      return false;
    }
    if (!def.address && def.offset != 0) {
      error(at, len,
            quoted(spelled) + " is only available at a function's entry: the probe is at " +
                quoted(def.symbol + "+" + std::to_string(def.offset)) + "; use registers instead");
      return false;
    }
    return true;
  }

  std::string_view text_;
  const ParseOptions& options_;
  std::vector<Error> errors_;
  bool group_given_ = false;
  size_t arg_start_ = 0;  // offset of the argument being parsed in text_
};

}  // namespace

std::string FetchType::name() const {
  switch (kind) {
  case TypeKind::unsigned_int: return "u" + std::to_string(bytes * 8);
  case TypeKind::signed_int: return "s" + std::to_string(bytes * 8);
  case TypeKind::hex: return "x" + std::to_string(bytes * 8);
  case TypeKind::string: return "string";
  case TypeKind::symbol: return "symbol";
  case TypeKind::floating: return "f" + std::to_string(bytes * 8);
  case TypeKind::bitfield:
    return "b" + std::to_string(bit_width) + "@" + std::to_string(bit_offset) + "/" + std::to_string(bytes * 8);
  }
  return "?";
}

std::optional<FetchType> FetchType::parse(std::string_view n) {
  if (n == "string" || n == "ustring") return FetchType{TypeKind::string, 0};
  if (n == "symbol") return FetchType{TypeKind::symbol, 8};
  if (n == "f32") return FetchType{TypeKind::floating, 4};
  if (n == "f64") return FetchType{TypeKind::floating, 8};
  auto bytes_of = [](std::string_view bits) -> uint8_t {
    if (bits == "8") return 1;
    if (bits == "16") return 2;
    if (bits == "32") return 4;
    if (bits == "64") return 8;
    return 0;
  };
  if (n.size() >= 2 && (n[0] == 'u' || n[0] == 's' || n[0] == 'x')) {
    uint8_t b = bytes_of(n.substr(1));
    if (!b) return std::nullopt;
    TypeKind k = n[0] == 'u' ? TypeKind::unsigned_int : n[0] == 's' ? TypeKind::signed_int : TypeKind::hex;
    return FetchType{k, b};
  }
  // b<width>@<offset>/<container bits>
  if (n.size() >= 6 && n[0] == 'b') {
    size_t at = n.find('@'), slash = n.find('/');
    if (at == std::string_view::npos || slash == std::string_view::npos || slash < at) return std::nullopt;
    auto w = parse_uint(n.substr(1, at - 1), 10);
    auto o = parse_uint(n.substr(at + 1, slash - at - 1), 10);
    uint8_t b = bytes_of(n.substr(slash + 1));
    if (!w || !o || !b || *w == 0 || *w + *o > b * 8u) return std::nullopt;
    return FetchType{TypeKind::bitfield, b, static_cast<uint8_t>(*w), static_cast<uint8_t>(*o)};
  }
  return std::nullopt;
}

std::string Definition::location_text() const {
  if (usdt) return module + ":" + usdt_provider + ":" + usdt_name;
  std::string out = module.empty() ? "" : module + ":";
  if (address) return out + hex(*address);
  out += symbol;
  if (offset) out += "+" + hex(offset);
  return out;
}

Result<Definition> parse_definition(std::string_view text, const ParseOptions& options,
                                    std::vector<Error>* errors) {
  return Parser(text, options).run(errors);
}

}  // namespace probekit::trace
