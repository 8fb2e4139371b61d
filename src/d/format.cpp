// d/format.cpp — DTrace's printf/printa engine. See format.h for the
// contract; what follows is how dtrace-utils' dt_printf.c behaves:
//   * an integer is read at the width it has (or the width the length
//     modifier names), sign-extended for %d/%i and zero-extended for
//     %u/%o/%x/%X/%p, then printed as a 64-bit C integer, so "%x" of the
//     int -1 is "ffffffff" and of the long long -1 "ffffffffffffffff";
//   * the C format is rebuilt from the parsed flags in DTrace's order, and a
//     precision is passed only when it is positive (DTrace cannot tell
//     "%.0d" from "%d");
//   * a negative `*` width left-justifies;
//   * in printa, `%@` conversions past the number of aggregations repeat the
//     last aggregation's value.
#include "d/format.h"

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "util/strings.h"

namespace probekit::d {
namespace {

struct Conv {
  size_t offset = 0;  // of '%'
  size_t length = 0;  // of the whole conversion text
  bool alt = false, zero = false, left = false, plus = false, space = false, group = false;
  bool agg = false;
  bool dyn_width = false;
  bool dyn_prec = false;
  int width = 0;
  int prec = 0;
  std::string lenmod;  // "", "hh", "h", "l", "ll", "z", "j", "t", "L"
  char conv = 0;
  std::string text;  // as written, for messages: "%-8s"
};

struct Piece {
  std::string literal;  // printed before the conversion (or alone)
  bool has_conv = false;
  Conv conv;
};

struct Parsed {
  std::vector<Piece> pieces;
  std::optional<FormatIssue> error;
};

// dtrace's conversions (dt_printf.c's _dtrace_conversions) less the wide
// and long-double ones: %k a stack, %Y and %T a time in nanoseconds.
constexpr std::string_view kConversions = "diuoxXcspaASeEfgGkYT";

Parsed parse(std::string_view fmt) {
  Parsed out;
  std::string lit;
  size_t i = 0;
  while (i < fmt.size()) {
    char c = fmt[i];
    if (c != '%') {
      lit += c;
      i++;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '%') {
      lit += '%';
      i += 2;
      continue;
    }
    Conv cv;
    cv.offset = i;
    size_t j = i + 1;
    for (; j < fmt.size(); j++) {
      char f = fmt[j];
      if (f == '#') cv.alt = true;
      else if (f == '0') cv.zero = true;
      else if (f == '-') cv.left = true;
      else if (f == '+') cv.plus = true;
      else if (f == ' ') cv.space = true;
      else if (f == '\'') cv.group = true;
      else if (f == '@') cv.agg = true;
      else break;
    }
    if (j < fmt.size() && fmt[j] == '?') {
      cv.width = 16;  // DTrace's %?: the width of a pointer (%?p lines addresses up)
      j++;
    } else if (j < fmt.size() && fmt[j] == '*') {
      cv.dyn_width = true;
      j++;
    } else {
      while (j < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[j]))) {
        cv.width = std::min(cv.width * 10 + (fmt[j] - '0'), 1 << 20);
        j++;
      }
    }
    if (j < fmt.size() && fmt[j] == '.') {
      j++;
      if (j < fmt.size() && fmt[j] == '*') {
        cv.dyn_prec = true;
        j++;
      } else {
        while (j < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[j]))) {
          cv.prec = std::min(cv.prec * 10 + (fmt[j] - '0'), 1 << 20);
          j++;
        }
      }
    }
    for (std::string_view m : {"hh", "ll", "h", "l", "z", "j", "t", "L"}) {
      if (fmt.substr(j, m.size()) == m) {
        cv.lenmod = std::string(m);
        j += m.size();
        break;
      }
    }
    // DTrace takes '@' anywhere before the conversion: %8@d as %@8d.
    for (; j < fmt.size() && fmt[j] == '@'; j++) cv.agg = true;
    if (j >= fmt.size()) {
      out.error = FormatIssue{"D_SYNTAX", i, fmt.size() - i, -1,
                              "format string ends inside the conversion \"" +
                                  std::string(fmt.substr(i)) + "\"; write \"%%\" for a literal '%'"};
      return out;
    }
    cv.conv = fmt[j];
    cv.length = j + 1 - i;
    cv.text = std::string(fmt.substr(i, cv.length));
    if (kConversions.find(cv.conv) == std::string_view::npos) {
      out.error = FormatIssue{"D_SYNTAX", i, cv.length, -1,
                              "\"" + cv.text +
                                  "\" is not a valid conversion; use one of %d %i %u %o %x %X "
                                  "%c %s %p %a %A %S %e %E %f %g %G %k %Y %T, or \"%%\" for '%'"};
      return out;
    }
    out.pieces.push_back(Piece{std::move(lit), true, std::move(cv)});
    lit.clear();
    i = j + 1;
  }
  if (!lit.empty()) out.pieces.push_back(Piece{std::move(lit), false, {}});
  return out;
}

std::string cfmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string cfmt(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::string out;
  if (n >= 0 && static_cast<size_t>(n) < sizeof buf) {
    out.assign(buf, static_cast<size_t>(n));
  } else if (n >= 0) {
    out.resize(static_cast<size_t>(n));
    std::vsnprintf(out.data(), static_cast<size_t>(n) + 1, fmt, ap2);
  }
  va_end(ap2);
  return out;
}

// The C format for one conversion: "%" flags width .prec length conv.
std::string c_spec(const Conv& cv, int width, int prec, std::string_view length, char conv) {
  std::string f = "%";
  if (cv.alt) f += '#';
  if (cv.zero) f += '0';
  if (width < 0 || cv.left) f += '-';
  if (cv.plus) f += '+';
  if (cv.space) f += ' ';
  if (width != 0) f += std::to_string(width < 0 ? -width : width);
  if (prec > 0) f += "." + std::to_string(prec);
  f += length;
  f += conv;
  return f;
}

int lenmod_size(const std::string& m) {
  if (m == "hh") return 1;
  if (m == "h") return 2;
  if (m.empty() || m == "L") return 0;
  return 8;
}

int64_t sign_extend(int64_t v, int size) {
  switch (size) {
    case 1: return static_cast<int8_t>(v);
    case 2: return static_cast<int16_t>(v);
    case 4: return static_cast<int32_t>(v);
    default: return v;
  }
}

uint64_t zero_extend(int64_t v, int size) {
  switch (size) {
    case 1: return static_cast<uint8_t>(v);
    case 2: return static_cast<uint16_t>(v);
    case 4: return static_cast<uint32_t>(v);
    default: return static_cast<uint64_t>(v);
  }
}

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::integer: return "an integer";
    case Value::Kind::string: return "a string";
    case Value::Kind::stack: return "a stack";
    case Value::Kind::symbol: return "a symbol";
    case Value::Kind::floating: return "a floating-point value";
  }
  return "a value";
}

bool is_string_conv(char c) { return c == 's' || c == 'S'; }

bool is_float_conv(char c) { return c == 'e' || c == 'E' || c == 'f' || c == 'g' || c == 'G'; }

// What a conversion prints when the program runs (an integer given to %f,
// as from printa() keys, is converted).
bool accepts(char conv, Value::Kind k) {
  if (k == Value::Kind::floating) return is_float_conv(conv);
  switch (conv) {
    case 's':
    case 'S': return k != Value::Kind::integer;
    case 'e':
    case 'E':
    case 'f':
    case 'g':
    case 'G': return k == Value::Kind::integer;
    case 'k': return k == Value::Kind::stack;
    case 'Y':
    case 'T': return k == Value::Kind::integer;
    default: return k == Value::Kind::integer || k == Value::Kind::symbol;
  }
}

// What printf() accepts when it is compiled: DTrace's pfcheck_fp takes
// only float and double for %e %f %g, and no integer conversion takes them.
bool accepts_statically(char conv, Value::Kind k) {
  if (is_float_conv(conv)) return k == Value::Kind::floating;
  return accepts(conv, k);
}

std::string text_of(const Value& v) {
  if (v.kind == Value::Kind::integer) return std::to_string(v.i);
  if (v.kind == Value::Kind::symbol && v.s.empty()) return hex(v.u());
  return v.s;
}

Result<std::string> format_one(const Conv& cv, int width, int prec, const Value& v) {
  int size = lenmod_size(cv.lenmod);
  if (size == 0) size = v.size;
  if (!accepts(cv.conv, v.kind))
    return Error("conversion \"" + cv.text + "\" cannot print " + kind_name(v.kind),
                 ErrorKind::usage);
  switch (cv.conv) {
    case 'd':
    case 'i': {
      // DTrace's pfcheck_dint turns %d of an unsigned value into %u: the
      // argument's type, not the conversion, decides the sign, so
      // printf("%d", (uint32_t)-1) prints 4294967295 (pfprint_uint). With
      // a length modifier (%hhd, %lld) it is pfprint_sint: signed.
      if (!v.is_signed && cv.lenmod.empty()) {
        unsigned long long u = zero_extend(v.i, size);
        return cfmt(c_spec(cv, width, prec, "ll", 'u').c_str(), u);
      }
      long long x = sign_extend(v.i, size);
      return cfmt(c_spec(cv, width, prec, "ll", 'd').c_str(), x);
    }
    case 'u':
    case 'o':
    case 'x':
    case 'X':
    case 'p': {
      unsigned long long x = zero_extend(v.i, size);
      char c = cv.conv == 'p' ? 'x' : cv.conv;
      return cfmt(c_spec(cv, width, prec, "ll", c).c_str(), x);
    }
    case 'c': return cfmt(c_spec(cv, width, prec, "", 'c').c_str(), static_cast<int>(static_cast<char>(v.i)));
    case 'e':
    case 'E':
    case 'f':
    case 'g':
    case 'G': {
      double d = v.kind == Value::Kind::floating ? v.as_double()
                 : v.is_signed                   ? static_cast<double>(sign_extend(v.i, size))
                                                 : static_cast<double>(zero_extend(v.i, size));
      return cfmt(c_spec(cv, width, prec, "", cv.conv).c_str(), d);
    }
    case 'a':
    case 'A': {
      std::string s = v.kind == Value::Kind::integer ? hex(v.u()) : text_of(v);
      return cfmt(c_spec(cv, width, prec, "", 's').c_str(), s.c_str());
    }
    case 's':
    case 'S': {
      std::string s = cv.conv == 'S' ? escape_string(v.s) : text_of(v);
      return cfmt(c_spec(cv, width, prec, "", 's').c_str(), s.c_str());
    }
    case 'k': {
      // pfprint_stack: each frame on a line of its own after a newline,
      // indented by the width when it is left-justified, printed with the
      // conversion's "%s".
      const int indent = width < 0 || cv.left ? std::abs(width) : 0;
      std::string out = "\n";
      for (const auto& frame : split(v.s, '\n')) {
        if (frame.empty()) continue;
        out += std::string(static_cast<size_t>(indent), ' ');
        out += cfmt(c_spec(cv, width, prec, "", 's').c_str(), frame.c_str());
        out += '\n';
      }
      return out;
    }
    case 'Y':
    case 'T': {
      // Nanoseconds since the epoch: %Y as pfprint_time ("2004 Jan  1
      // 00:00:00", local time), %T as RFC 822 (pfprint_time822).
      const time_t sec = static_cast<time_t>(zero_extend(v.i, size) / 1000000000ULL);
      std::string text;
      if (cv.conv == 'Y') {
        char src[32] = {};
        if (ctime_r(&sec, src)) text = std::string(src + 20, 4) + std::string(src + 3, 16);
      } else {
        struct tm tm = {};
        char buf[64] = {};
        localtime_r(&sec, &tm);
        text.assign(buf, std::strftime(buf, sizeof buf, "%a, %d %b %G %T %Z", &tm));
      }
      return cfmt(c_spec(cv, width, prec, "", 's').c_str(), text.c_str());
    }
  }
  return Error("\"" + cv.text + "\" is not a valid conversion", ErrorKind::usage);
}

// Where a formatting pass gets its values: printf's arguments, or printa's
// keys and aggregations.
class Feed {
public:
  virtual ~Feed() = default;
  virtual const Value* next_key() = 0;
};

class SpanFeed : public Feed {
public:
  explicit SpanFeed(std::span<const Value> v) : v_(v) {}
  const Value* next_key() override { return pos_ < v_.size() ? &v_[pos_++] : nullptr; }
  size_t used() const { return pos_; }

private:
  std::span<const Value> v_;
  size_t pos_ = 0;
};

Result<int> dyn_int(Feed& feed, const Conv& cv) {
  const Value* v = feed.next_key();
  if (v == nullptr)
    return Error("conversion \"" + cv.text + "\" needs an integer argument for '*'",
                 ErrorKind::usage);
  return static_cast<int>(sign_extend(v->i, v->size));
}

std::string describe_arg(int ai) { return "argument #" + std::to_string(ai + 2); }

}  // namespace

std::string escape_string(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (std::isprint(c)) {
          out += static_cast<char>(c);
        } else {
          out += cfmt("\\%03o", c);
        }
    }
  }
  return out;
}

std::vector<FormatIssue> check_format(std::string_view fmt, std::span<const ArgType> args) {
  std::vector<FormatIssue> issues;
  Parsed p = parse(fmt);
  if (p.error) {
    issues.push_back(*p.error);
    return issues;
  }
  size_t ai = 0;
  int nconv = 0;
  for (const Piece& piece : p.pieces) {
    if (!piece.has_conv) continue;
    const Conv& cv = piece.conv;
    nconv++;
    auto add = [&](const char* id, int arg, std::string msg) {
      issues.push_back(FormatIssue{id, cv.offset, cv.length, arg, std::move(msg)});
    };
    for (bool dyn : {cv.dyn_width, cv.dyn_prec}) {
      if (!dyn) continue;
      if (ai >= args.size()) {
        add("D_PRINTF_DYN_PROTO", -1,
            "conversion #" + std::to_string(nconv) + " \"" + cv.text +
                "\" needs an integer argument for '*'; add one before its value");
      } else if (args[ai].kind != Value::Kind::integer) {
        add("D_PRINTF_DYN_TYPE", static_cast<int>(ai),
            describe_arg(static_cast<int>(ai)) + " is " + kind_name(args[ai].kind) +
                ", but the '*' of conversion \"" + cv.text + "\" needs an integer");
      }
      ai++;
    }
    if (cv.agg) {
      add("D_PRINTF_AGG_CONV", -1,
          "aggregation conversion \"" + cv.text +
              "\" is only valid in printa(); use printa() to print an aggregation");
      continue;
    }
    if (ai >= args.size()) {
      add("D_PRINTF_ARG_PROTO", -1,
          "conversion #" + std::to_string(nconv) + " \"" + cv.text +
              "\" has no argument; add one or remove the conversion");
      ai++;
      continue;
    }
    if (!accepts_statically(cv.conv, args[ai].kind)) {
      std::string hint = is_float_conv(cv.conv) ? "; it needs a float or a double"
                         : args[ai].kind == Value::Kind::floating ? "; use \"%f\", \"%e\" or \"%g\" for a float or a double"
                         : is_string_conv(cv.conv)
                             ? "; use \"%d\" for an integer"
                             : (args[ai].kind == Value::Kind::integer ? "" : "; use \"%s\" for text");
      add("D_PRINTF_ARG_TYPE", static_cast<int>(ai),
          describe_arg(static_cast<int>(ai)) + " is " + kind_name(args[ai].kind) +
              ", which conversion #" + std::to_string(nconv) + " \"" + cv.text +
              "\" cannot print" + hint);
    }
    ai++;
  }
  if (ai < args.size()) {
    issues.push_back(FormatIssue{
        "D_PRINTF_ARG_EXTRA", 0, fmt.size(), static_cast<int>(ai),
        "the format uses " + std::to_string(ai) + " argument" + (ai == 1 ? "" : "s") +
            " but " + std::to_string(args.size()) +
            " were given; remove the extra ones or add conversions for them"});
  }
  return issues;
}

std::vector<FormatIssue> check_printa_format(std::string_view fmt, std::span<const ArgType> keys,
                                             size_t naggs) {
  std::vector<FormatIssue> issues;
  Parsed p = parse(fmt);
  if (p.error) {
    issues.push_back(*p.error);
    return issues;
  }
  size_t ki = 0;
  int nconv = 0;
  for (const Piece& piece : p.pieces) {
    if (!piece.has_conv) continue;
    const Conv& cv = piece.conv;
    nconv++;
    auto add = [&](const char* id, int arg, std::string msg) {
      issues.push_back(FormatIssue{id, cv.offset, cv.length, arg, std::move(msg)});
    };
    for (bool dyn : {cv.dyn_width, cv.dyn_prec}) {
      if (!dyn) continue;
      if (ki >= keys.size() || keys[ki].kind != Value::Kind::integer) {
        add("D_PRINTF_DYN_TYPE", static_cast<int>(ki),
            "the '*' of conversion \"" + cv.text + "\" needs an integer key at that position");
      }
      ki++;
    }
    if (cv.agg) {
      if (naggs == 0) {
        add("D_PRINTF_AGG_CONV", -1,
            "aggregation conversion \"" + cv.text + "\" needs an aggregation argument");
      } else if (is_string_conv(cv.conv) || cv.conv == 'a' || cv.conv == 'A') {
        add("D_PRINTF_ARG_TYPE", -1,
            "aggregation values are integers, which \"" + cv.text + "\" cannot print; use \"%@d\"");
      }
      continue;
    }
    if (ki >= keys.size()) {
      add("D_PRINTF_ARG_PROTO", -1,
          "conversion #" + std::to_string(nconv) + " \"" + cv.text +
              "\" has no key left to print; the aggregation has " + std::to_string(keys.size()) +
              " key" + (keys.size() == 1 ? "" : "s"));
      ki++;
      continue;
    }
    if (!accepts(cv.conv, keys[ki].kind)) {
      add("D_PRINTF_ARG_TYPE", static_cast<int>(ki),
          "key #" + std::to_string(ki + 1) + " is " + kind_name(keys[ki].kind) +
              ", which conversion #" + std::to_string(nconv) + " \"" + cv.text + "\" cannot print" +
              (is_string_conv(cv.conv) ? "; use \"%d\" for an integer" : "; use \"%s\" for text"));
    }
    ki++;
  }
  return issues;
}

Result<std::string> format(std::string_view fmt, std::span<const Value> args) {
  Parsed p = parse(fmt);
  if (p.error) return Error(p.error->message, ErrorKind::usage);
  SpanFeed feed(args);
  std::string out;
  for (const Piece& piece : p.pieces) {
    out += piece.literal;
    if (!piece.has_conv) continue;
    const Conv& cv = piece.conv;
    int width = cv.width;
    int prec = cv.prec;
    if (cv.dyn_width) {
      auto w = dyn_int(feed, cv);
      if (!w) return w.error();
      width = *w;
    }
    if (cv.dyn_prec) {
      auto pr = dyn_int(feed, cv);
      if (!pr) return pr.error();
      prec = *pr;
    }
    if (cv.agg)
      return Error("aggregation conversion \"" + cv.text + "\" is only valid in printa()",
                   ErrorKind::usage);
    const Value* v = feed.next_key();
    if (v == nullptr)
      return Error("conversion \"" + cv.text + "\" has no argument", ErrorKind::usage);
    auto s = format_one(cv, width, prec, *v);
    if (!s) return s.error();
    out += *s;
  }
  return out;
}

Result<std::string> printa(std::string_view fmt, std::span<const Aggregation* const> aggs) {
  if (aggs.empty()) return Error("printa() needs an aggregation", ErrorKind::usage);
  Parsed p = parse(fmt);
  if (p.error) return Error(p.error->message, ErrorKind::usage);

  // The same key set and order as the default layout (print_joined).
  std::vector<Key> keys = joined_keys(aggs);
  std::vector<AggState> zero(aggs.size());
  for (size_t j = 0; j < aggs.size(); j++) {
    if (aggs[j]->bucket_count() > 0)
      zero[j].buckets.assign(static_cast<size_t>(aggs[j]->bucket_count()), 0);
  }
  auto state = [&](size_t j, const Key& k) -> const AggState& {
    const AggState* s = aggs[j]->find(k);
    return s ? *s : zero[j];
  };

  std::string out;
  for (const Key& key : keys) {
    SpanFeed feed(key);
    size_t curagg = 0;
    for (const Piece& piece : p.pieces) {
      out += piece.literal;
      if (!piece.has_conv) continue;
      const Conv& cv = piece.conv;
      int width = cv.width;
      int prec = cv.prec;
      if (cv.dyn_width) {
        auto w = dyn_int(feed, cv);
        if (!w) return w.error();
        width = *w;
      }
      if (cv.dyn_prec) {
        auto pr = dyn_int(feed, cv);
        if (!pr) return pr.error();
        prec = *pr;
      }
      if (cv.agg) {
        const Aggregation& a = *aggs[curagg];
        const AggState& s = state(curagg, key);
        if (curagg + 1 < aggs.size()) curagg++;
        if (a.bucket_count() > 0) {
          out += a.print_value(s);  // the distribution ignores the conversion
          continue;
        }
        Value v = a.func() == AggFunc::stddev ? Value::unsigned_integer(static_cast<uint64_t>(a.scalar(s)))
                                              : Value::integer(a.scalar(s));
        auto t = format_one(cv, width, prec, v);
        if (!t) return t.error();
        out += *t;
        continue;
      }
      const Value* v = feed.next_key();
      if (v == nullptr)
        return Error("conversion \"" + cv.text + "\" has no key left to print", ErrorKind::usage);
      auto t = format_one(cv, width, prec, *v);
      if (!t) return t.error();
      out += *t;
    }
  }
  return out;
}


// --- print() -----------------------------------------------------------------------
//
// dtrace-utils walks the type (ctf_type_visit: the type, then each member,
// nested members right after the one holding them) and prints a line for
// each one whose bytes are not all zero. A struct or union opens a `{`
// that is closed, with "}," one column in from its members, when the walk
// comes back up to its depth (or at the end, the outermost "}" without the
// comma). `layout` is that walk, precomputed.
namespace {

constexpr int kPrintIndent = 44;  // dtrace-utils' DT_PRINT_STARTINDENT
constexpr int kPrintDepth = 10;   // and DT_PRINT_DEPTH

class PrintWriter {
public:
  PrintWriter(std::string_view data, size_t limit) : data_(data), limit_(limit) {}

  std::string run(const std::vector<PrintMember>& layout) {
    for (const auto& m : layout)
      if (!visit(m)) break;
    close(0);
    return std::move(out_);
  }

private:
  static bool is_open(PrintMember::Kind k) { return k == PrintMember::Kind::aggregate; }

  void line(int depth, const std::string& text) {
    out_.append(static_cast<size_t>(kPrintIndent + depth), ' ');
    out_ += text;
    out_ += '\n';
  }

  // The "}" of every struct or union deeper than `depth` shown so far.
  void close(int depth) {
    if (!is_open(kinds_[static_cast<size_t>(depth)])) return;
    if (depth == 0 && last_depth_ == 0) last_depth_ = 1;
    for (int i = last_depth_ - depth; i > 0; --i) {
      line(depth + i - 1, std::string("}") + (depth > 0 || i > 1 ? "," : ""));
      last_depth_ = depth;
    }
  }

  bool zero(uint64_t offset, uint64_t n) const {
    if (offset >= data_.size()) return true;
    n = std::min<uint64_t>(n, data_.size() - offset);
    for (uint64_t i = 0; i < n; ++i)
      if (data_[offset + i] != 0) return false;
    return true;
  }

  uint64_t bits(uint64_t offset, uint64_t n) const {
    uint64_t v = 0;
    if (offset < data_.size())
      std::memcpy(&v, data_.data() + offset, static_cast<size_t>(std::min<uint64_t>(n, data_.size() - offset)));
    return v;
  }

  // "(TYPE)VALUE," for a scalar; nullopt when dtrace-utils shows nothing.
  std::optional<std::string> scalar(PrintMember::Kind kind, const std::string& type_name, uint64_t offset,
                                    uint64_t size, bool is_signed, const PrintMember* m) const {
    using K = PrintMember::Kind;
    const std::string cast = "(" + type_name + ")";
    switch (kind) {
    case K::integer: {
      if (m && m->bit_size > 0) {
        uint64_t raw = bits(offset, 8) >> m->bit_offset;
        if (m->bit_size < 64) raw &= (uint64_t{1} << m->bit_size) - 1;
        if (raw == 0) return std::nullopt;
        return cast + std::to_string(static_cast<int64_t>(raw)) + ",";
      }
      uint64_t raw = bits(offset, size);
      if (size == 8 && !is_signed) return cast + std::to_string(raw) + ",";
      Type t = Type::integer(static_cast<uint8_t>(size == 1 || size == 2 || size == 4 ? size : 8), is_signed);
      int64_t v = normalize_to(t, static_cast<int64_t>(raw));
      if (type_name == "char" && size == 1) return cast + "'" + std::string(1, static_cast<char>(v)) + "',";
      return cast + std::to_string(v) + ",";
    }
    case K::enumeration: {
      auto v = static_cast<int32_t>(bits(offset, 4));
      if (m)
        for (const auto& [value, name] : m->enumerators)
          if (value == v) return cast + name + ",";
      return cast + std::to_string(v) + ",";
    }
    case K::pointer: return cast + cfmt("0x%llx", static_cast<unsigned long long>(bits(offset, 8))) + ",";
    default: return std::nullopt;
    }
  }

  bool visit(const PrintMember& m) {
    const int depth = m.depth;
    if (m.offset >= limit_ || depth >= kPrintDepth) {
      line(depth, "...");
      return false;
    }
    if (last_depth_ > depth) close(depth);
    const uint64_t bytes = m.kind == PrintMember::Kind::array ? m.size * m.count : m.size;
    if (depth > 0 && zero(m.offset, bytes)) return true;
    kinds_[static_cast<size_t>(depth)] = m.kind;
    last_depth_ = depth;
    const std::string name = depth > 0 && !m.name.empty() ? "." + m.name + " = " : "";
    using K = PrintMember::Kind;
    switch (m.kind) {
    case K::aggregate: line(depth, name + "(" + m.type_name + ") {"); return true;
    case K::array: {
      line(depth, name + "(" + m.type_name + ") [" + (m.count == 0 ? "]," : ""));
      const bool chars = m.element == K::integer && m.size == 1 && m.element_name == "char";
      for (uint64_t i = 0; i < m.count; ++i) {
        const uint64_t at = m.offset + i * m.size;
        if (chars && bits(at, 1) == 0) break;
        if (zero(at, m.size)) continue;
        auto v = scalar(m.element, m.element_name, at, m.size, m.is_signed, nullptr);
        if (!v && m.element == K::aggregate) v = "(" + m.element_name + ") {";
        if (v) line(depth + 1, *v);
      }
      if (m.count > 0) line(depth, "],");
      return true;
    }
    default: {
      auto v = scalar(m.kind, m.type_name, m.offset, m.size, m.is_signed, &m);
      if (v) line(depth, name + *v);
      return true;
    }
    }
  }

  std::string_view data_;
  size_t limit_;
  std::string out_;
  int last_depth_ = 0;
  PrintMember::Kind kinds_[kPrintDepth + 1] = {};
};

}  // namespace

std::string render_print(const std::vector<PrintMember>& layout, std::string_view data, size_t limit,
                         uint64_t addr) {
  std::string head = addr == 0 ? "(nil) = *\n" : cfmt("0x%llx = *\n", static_cast<unsigned long long>(addr));
  PrintWriter w(data, limit);
  return head + w.run(layout);
}

}  // namespace probekit::d
