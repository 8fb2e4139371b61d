#include "d/passes.h"

#include <algorithm>
#include <functional>
#include <array>
#include <cctype>
#include <optional>
#include <set>
#include <utility>

#include <strings.h>
#include <unistd.h>

#include "d/format.h"
#include "d/runtime.h"
#include "util/strings.h"

namespace probekit::d {

ProbeDescription description_of(const ProbeDesc& d) {
  ProbeDescription pd;
  pd.provider = d.provider;
  pd.module = d.module;
  pd.function = d.function;
  pd.name = d.name;
  pd.text = d.text;
  pd.expanded = d.expanded;
  return pd;
}

VarDecl* Symbols::find(std::vector<VarDecl>& in, const std::string& name) {
  for (auto& v : in)
    if (v.name == name) return &v;
  return nullptr;
}

uint64_t dynamic_variable_bytes(const Symbols& s, uint64_t strsize, uint64_t stack_bytes) {
  auto value_bytes = [&](const Type& t) -> uint64_t {
    if (t.is_string()) return strsize;
    if (t.kind == Type::Kind::stack) return stack_bytes;
    if (t.object && t.tag > 0 && t.tag <= s.object_sizes.size()) return s.object_sizes[t.tag - 1u];
    return t.size ? t.size : 8;
  };
  uint64_t tuple = 0, value = 0;
  for (const VarDecl& v : s.thread_vars)
    value = std::max(value, value_bytes(v.type) * static_cast<uint64_t>(v.dim > 0 ? v.dim : 1));
  for (const VarDecl& g : s.globals) {
    if (!g.is_array || g.dim > 0) continue;
    value = std::max(value, value_bytes(g.type));
    uint64_t t = 4;
    for (const Type& k : g.keys) {
      if (k.is_string()) t += strsize + 1;
      else if (k.kind == Type::Kind::stack) t = (t + 7) / 8 * 8 + stack_bytes;
      else {
        const uint64_t size = k.size ? k.size : 8;
        t = (t + size - 1) / size * size + size;
      }
    }
    tuple = std::max(tuple, t + 8);
  }
  return value == 0 && tuple == 0 ? 0 : tuple + value;
}

AggDecl* Symbols::find_agg(const std::string& name) {
  for (auto& a : aggs)
    if (a.name == name) return &a;
  return nullptr;
}

bool PassManager::run(PassContext& ctx) {
  for (auto& p : passes_) {
    int before = ctx.diags.error_count();
    p->run(ctx);
    if (ctx.diags.error_count() > before) {
      failed_ = p->name();
      return false;
    }
  }
  return true;
}

bool split_probe_desc(const std::string& text, ProbeDesc& out) {
  // Split on ':' not inside [...] and not escaped.
  std::vector<std::string> fields(1);
  int bracket = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      fields.back() += c;
      fields.back() += text[++i];
      continue;
    }
    if (c == '[') ++bracket;
    if (c == ']' && bracket > 0) --bracket;
    if (c == ':' && bracket == 0) {
      fields.emplace_back();
      continue;
    }
    fields.back() += c;
  }
  if (fields.size() > 4) return false;
  // bpftrace's spellings of kernel probes: tracepoint:SUBSYSTEM:EVENT is
  // provider, module, function (name empty); kprobe:FUNCTION is provider
  // and function.
  if (fields.size() == 3 && fields[0] == "tracepoint") fields.emplace_back();
  if (fields.size() == 2 && (fields[0] == "kprobe" || fields[0] == "kretprobe")) {
    fields.insert(fields.begin() + 1, "");
    fields.emplace_back();
  }
  while (fields.size() < 4) fields.insert(fields.begin(), "");
  out.provider = fields[0];
  out.module = fields[1];
  out.function = fields[2];
  out.name = fields[3];
  return true;
}

// dtrace's dt_opt_runtime: an empty value or a negative word turns a
// switch off, a positive word or any number (0 too: it is "set") on.
std::optional<bool> option_switch(const std::string& value) {
  static const char* const kCouples[][2] = {{"yes", "no"}, {"enable", "disable"}, {"enabled", "disabled"},
                                            {"true", "false"}, {"on", "off"}, {"set", "unset"}};
  if (value.empty()) return false;
  for (const auto& c : kCouples) {
    if (strcasecmp(value.c_str(), c[0]) == 0) return true;
    if (strcasecmp(value.c_str(), c[1]) == 0) return false;
  }
  if (parse_uint(value)) return true;
  return std::nullopt;
}

size_t print_size(const std::string& value) {
  auto v = value.empty() ? std::nullopt : option_size(value);
  uint64_t n = v && *v > 0 && *v <= 65536 ? *v : 8192;
  return static_cast<size_t>((n + 7) / 8 * 8);
}

// dtrace's dt_optval_parse: digits, then at most one of k m g t.
std::optional<uint64_t> option_size(const std::string& value) {
  std::string digits = value;
  uint64_t mult = 1;
  if (!digits.empty() && std::isalpha(static_cast<unsigned char>(digits.back()))) {
    switch (std::tolower(static_cast<unsigned char>(digits.back()))) {
      case 't': mult = 1ULL << 40; break;
      case 'g': mult = 1ULL << 30; break;
      case 'm': mult = 1ULL << 20; break;
      case 'k': mult = 1ULL << 10; break;
      default: return std::nullopt;
    }
    digits.pop_back();
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  auto n = parse_uint(digits, 10);
  if (!n || *n > UINT64_MAX / mult) return std::nullopt;
  return *n * mult;
}

// dtrace's dt_opt_rate: a number with no unit is a frequency (hz).
std::optional<uint64_t> option_rate_ns(const std::string& value) {
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"ns", 1}, {"nsec", 1}, {"us", 1000}, {"usec", 1000}, {"ms", 1000000}, {"msec", 1000000},
      {"s", 1000000000ULL}, {"sec", 1000000000ULL}, {"m", 60000000000ULL}, {"min", 60000000000ULL},
      {"h", 3600000000000ULL}, {"hour", 3600000000000ULL}, {"d", 86400000000000ULL}, {"day", 86400000000000ULL},
      {"hz", 0}};
  size_t n = 0;
  while (n < value.size() && value[n] >= '0' && value[n] <= '9') ++n;
  if (n == 0) return std::nullopt;
  auto num = parse_uint(value.substr(0, n), 10);
  if (!num) return std::nullopt;
  std::string unit = value.substr(n);
  if (unit.empty()) unit = "hz";
  for (const auto& [name, scale] : kUnits) {
    if (unit != name) continue;
    if (scale == 0) return *num == 0 ? std::nullopt : std::optional<uint64_t>(1000000000ULL / *num);
    return *num * scale;
  }
  return std::nullopt;
}

// "MAJOR.MINOR[.MICRO]" as its three numbers, each below 4096 (what
// dt_version_str2num accepts); nullopt when it is not one.
std::optional<std::array<uint64_t, 3>> version_parts(const std::string& value) {
  auto parts = split(value, '.');
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  std::array<uint64_t, 3> v{};
  for (size_t i = 0; i < parts.size(); ++i) {
    auto n = parts[i].empty() ? std::nullopt : parse_uint(parts[i], 10);
    if (!n || *n > 4095) return std::nullopt;
    v[i] = *n;
  }
  return v;
}

// "1.0" to kDVersion (dt_version_str2num), for a version D has had.
bool option_version(const std::string& value) {
  auto parts = version_parts(value);
  if (!parts) return false;
  const auto& v = *parts;
  // The versions D has had: 1.0 .. 1.13 (and 1.2.1, 1.2.2, 1.4.1, 1.6.1
  // .. 1.6.4), then dtrace-utils' 2.0 and 2.0.1 (kDVersion).
  const uint64_t micro = v[2];
  if (v[0] == 2) return v[1] == 0 && micro <= 1;
  if (v[0] != 1 || v[1] > 13) return false;
  if (micro == 0) return true;
  return (v[1] == 2 && micro <= 2) || (v[1] == 4 && micro == 1) || (v[1] == 6 && micro <= 4);
}

// dtrace_str2attr(): [name[/data[/class]]], case aside, a part not given
// the highest (Standard, Standard, Common); each part as its level, from 0
// (Internal; Unknown). nullopt: not attributes.
std::optional<std::array<int, 3>> parse_attributes(const std::string& text) {
  static const char* stabilities[] = {"internal", "private", "obsolete", "external",
                                      "unstable", "evolving", "stable",   "standard"};
  static const char* classes[] = {"unknown", "cpu", "platform", "group", "isa", "common"};
  std::array<int, 3> attr{7, 7, 5};
  if (text.empty()) return attr;
  const auto parts = split(text, '/');
  if (parts.size() > 3) return std::nullopt;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string w = parts[i];
    for (auto& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int level = -1;
    const int n = i < 2 ? 8 : 6;
    for (int k = 0; k < n; ++k)
      if (w == (i < 2 ? stabilities[k] : classes[k])) level = k;
    if (level < 0) return std::nullopt;
    attr[i] = level;
  }
  return attr;
}

bool is_known_option(const std::string& name, bool* takes_value) {
  static const std::map<std::string, bool> known = {
      {"quiet", false},       {"destructive", false},  {"flowindent", false},
      {"zdefs", false},       {"defaultargs", false},  {"rawbytes", false},
      {"aggsortkey", false},  {"aggsortrev", false},   {"aggsortkeypos", true},
      {"aggsortpos", true},   {"nspec", true},         {"bufsize", true},
      {"aggsize", true},      {"strsize", true},       {"specsize", true},
      {"dynvarsize", true},   {"switchrate", true},    {"aggrate", true},
      {"cleanrate", true},    {"statusrate", true},    {"stackframes", true},
      {"ustackframes", true}, {"bufpolicy", true},     {"bufresize", true},
      {"cpu", true},          {"grabanon", false},     {"jstackframes", true},
      {"jstackstrsize", true}, {"aggpercpu", false},   {"stackindent", true},
      {"retprobe", true},  // probekit: return probe mechanism (auto, ret-site, hijack)
      {"backend", true},   // probekit: how pid probes are armed (auto, jump, trap)
      {"exitcode", false},  // probekit: exit with the -c command's status
      {"printsize", true},  // print(): how many bytes of a type it shows
      {"handsoff", false},  // probekit: detach while every probe is a jump probe (LaunchOptions::hands_off)
      {"noagent", false},   // probekit: every clause runs in probekit, none in the agent (d/agent_codegen.h)
      {"agentjit", true},   // probekit: agent clauses as native code (on) or bytecode (off)
      {"aggfmt", true},     // probekit: how aggregations print (text, folded)
      {"metrics", true},    // probekit: serve the aggregations as OpenMetrics at ADDR:PORT
      {"progress", true},   // probekit: seconds of arming before a terminal shows "armed K/N"
      {"version", true},      // the D language version the program asks for (at most kDVersion)
      {"scratchsize", true},  // alloca()'s space per clause firing (bytes)
      {"maxframes", true},    // the most frames stack() and ustack() may ask for
      {"errtags", false},     // dtrace: errors carry their [D_*] tag (probekit's always do)
      {"droptags", false},    // dtrace: drop reports carry a tag (accepted; drops print as they do)
      {"tree", true},         // dtrace: dump the parse tree of passes N (a debugging aid; accepted, no effect)
      {"argref", false},      // dtrace: arguments after the program need not be referenced
      {"tregs", true},        // dtrace: tuple registers (an array's or aggregation's keys, at most tregs + 1)
      {"amin", true},         // dtrace: the least stability attributes the program may use (D_ATTR_MIN)
  };
  auto it = known.find(name);
  if (it == known.end()) return false;
  if (takes_value) *takes_value = it->second;
  return true;
}

namespace {

// --- macros -----------------------------------------------------------------

class MacroPass : public Pass, public Visitor<MacroPass> {
public:
  MacroPass() : Pass("macros") {}

  void run(PassContext& ctx) override {
    ctx_ = &ctx;
    bool argref = false;
    for (const auto& o : ctx.options.options) {
      if (o.first == "defaultargs") defaultargs_ = true;
      if (o.first == "argref") argref = o.second.empty() || option_switch(o.second).value_or(true);
    }
    for (const auto& p : ctx.ast.options) {
      if (p.name == "defaultargs") defaultargs_ = true;
      if (p.name == "argref") argref = true;
    }
    for (auto& c : ctx.ast.clauses) {
      for (auto& d : c.descs) expand_desc(d);
      visit_clause(c);
    }
    // dtrace (dt_compile): the last argument after the program must be
    // used, unless -x argref says arguments may go unused.
    const auto& args = ctx.options.macro_args;
    if (!args.empty() && !argref && !referenced_.count(args.size()))
      ctx.diags.error("D_MACRO_UNUSED", Loc{0, 0, 0},
                      "extraneous argument '" + args.back() + "' ($" + std::to_string(args.size()) +
                          " is not referenced): use it in the program, remove it, or pass '-x argref'");
  }

  void visit_macro(Expr& e) {
    std::string value;
    bool is_int = false;
    int64_t ival = 0;
    if (!lookup(e.text, e.loc, value, is_int, ival)) return;
    if (is_int && e.ival == 0) {
      e.kind = ExprKind::integer;
      e.ival = static_cast<uint64_t>(ival);
      e.type = Type::integer(ival >= INT32_MIN && ival <= INT32_MAX ? 4 : 8, true);
      if (e.text == "target" || e.text == "pid") e.type = Type::integer(4, true);
    } else {
      e.kind = ExprKind::string;
      e.text = value;
      e.ival = 0;
    }
  }

private:
  // Resolves one macro name; false (and a diagnostic) when undefined.
  bool lookup(const std::string& name, Loc loc, std::string& value, bool& is_int, int64_t& ival) {
    const auto& o = ctx_->options;
    // dtrace's macros: $target is the -p/-c process, 0 without one (so
    // pid$target is pid0, which matches nothing); $pid is the tracer's own
    // process (dt_open.c sets it to getpid()).
    if (name == "target" || name == "pid") {
      is_int = true;
      ival = name == "pid" ? ::getpid() : std::max(o.target_pid, 0);
      value = std::to_string(ival);
      return true;
    }
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
      size_t n = std::stoul(name.size() > 6 ? "999999" : name);
      referenced_.insert(n);
      if (n == 0) {
        value = o.script_name;
        is_int = false;
        return true;
      }
      if (n > o.macro_args.size()) {
        if (defaultargs_) {
          value = "";
          is_int = true;
          ival = 0;
          return true;
        }
        ctx_->diags.error("D_MACRO_UNDEF", loc,
                          "macro argument '$" + name + "' is not defined: " +
                              std::to_string(o.macro_args.size()) +
                              " argument(s) given after the program; pass more or use '-x defaultargs'");
        return false;
      }
      value = o.macro_args[n - 1];
      auto parsed = parse_int(value);
      is_int = parsed.has_value();
      ival = parsed.value_or(0);
      return true;
    }
    if (name == "uid" || name == "gid" || name == "ppid" || name == "pgid" || name == "sid") {
      // The tracer's own ids, as dtrace(1) defines these macros (dt_open.c:
      // getuid(), getgid(), getppid(), getpgid(0), getsid(0)).
      is_int = true;
      ival = name == "uid"    ? static_cast<int64_t>(::getuid())
             : name == "gid"  ? static_cast<int64_t>(::getgid())
             : name == "ppid" ? static_cast<int64_t>(::getppid())
             : name == "pgid" ? static_cast<int64_t>(::getpgid(0))
                              : static_cast<int64_t>(::getsid(0));
      value = std::to_string(ival);
      return true;
    }
    ctx_->diags.error("D_MACRO_UNDEF", loc,
                      "unknown macro '$" + name + "': use '$target', '$pid' or '$1'..'$9'");
    return false;
  }

  void expand_desc(ProbeDesc& d) {
    std::string out;
    const std::string& t = d.text;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] != '$') {
        out += t[i];
        continue;
      }
      size_t j = i + 1;
      if (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) {
        while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) ++j;
      } else {
        while (j < t.size() && (std::isalnum(static_cast<unsigned char>(t[j])) || t[j] == '_')) ++j;
      }
      std::string name = t.substr(i + 1, j - i - 1);
      Loc loc = d.loc;
      loc.column += static_cast<int>(i);
      loc.length = static_cast<int>(j - i);
      if (name.empty()) {
        ctx_->diags.error("D_PDESC_INVAL", loc, "'$' in probe description '" + t + "' must name a macro such as '$target'");
        return;
      }
      std::string value;
      bool is_int = false;
      int64_t ival = 0;
      if (!lookup(name, loc, value, is_int, ival)) return;
      out += value;
      i = j - 1;
    }
    d.expanded = out;
    if (!split_probe_desc(out, d)) {
      ctx_->diags.error("D_PDESC_INVAL", d.loc,
                        "invalid probe description '" + d.text +
                            "': more than four fields; write provider:module:function:name");
      return;
    }
    // A '[' without its ']' would match nothing; say so now.
    for (const std::string* f : {&d.provider, &d.module, &d.function, &d.name}) {
      int depth = 0;
      for (char c : *f) {
        if (c == '[') ++depth;
        if (c == ']') --depth;
      }
      if (depth != 0) {
        ctx_->diags.error("D_PDESC_INVAL", d.loc,
                          "invalid probe description '" + d.text + "': unbalanced '[' in '" + *f + "'");
        return;
      }
    }
  }

  PassContext* ctx_ = nullptr;
  bool defaultargs_ = false;
  std::set<size_t> referenced_;  // $N the program uses
};

// --- options ----------------------------------------------------------------

class OptionPass : public Pass {
public:
  OptionPass() : Pass("options") {}

  // As dtrace(1) sets them: the command line's options first (-x, then
  // -q, -w, -F), then each `#pragma D option` as the compiler meets it, so
  // the program's pragma wins over the command line for every option
  // (dtrace_setopt() runs in that order; `quiet=no` in the program undoes -q).
  void run(PassContext& ctx) override {
    for (const auto& [name, value] : ctx.options.options) {
      if (check(ctx, name, value, Loc{0, 0, 1})) set(ctx, name, value);
    }
    if (ctx.options.quiet) ctx.symbols.options["quiet"] = "";
    if (ctx.options.destructive) ctx.symbols.options["destructive"] = "";
    if (ctx.options.flow_indent) ctx.symbols.options["flowindent"] = "";
    for (const auto& p : ctx.ast.options) {
      if (check(ctx, p.name, p.value, p.loc)) set(ctx, p.name, p.value);
    }
  }

private:
  // A switch without a value (quiet, -x flowindent) is on; given one
  // (quiet=no, -x flowindent=1) it is on or off as option_switch() says.
  // On, it is stored without its value.
  static void set(PassContext& ctx, const std::string& name, const std::string& value) {
    bool takes_value = false;
    (void)is_known_option(name, &takes_value);
    if (takes_value) {
      ctx.symbols.options[name] = value;
    } else if (value.empty() || option_switch(value).value_or(true)) {
      ctx.symbols.options[name] = "";
    } else {
      ctx.symbols.options.erase(name);
    }
  }

  static bool check(PassContext& ctx, const std::string& name, const std::string& value, Loc loc) {
    bool takes_value = false;
    if (!is_known_option(name, &takes_value)) {
      std::vector<std::string> names = {"quiet", "destructive", "flowindent", "zdefs", "defaultargs",
                                        "nspec", "bufsize", "strsize", "aggsortkey", "aggsortrev",
                                        "specsize", "switchrate", "ustackframes", "stackframes", "retprobe",
                                        "backend", "exitcode", "handsoff", "aggfmt", "metrics", "progress", "noagent",
                                        "agentjit"};
      auto near = closest_matches(name, names);
      ctx.diags.error("D_PRAGMA_OPTSET", loc,
                      "failed to set option '" + name + "': unknown option" +
                          (near.empty() ? std::string() : "; did you mean '" + near[0] + "'?"));
      return false;
    }
    if (takes_value) {
      if (value.empty()) {
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option '" + name + "': it needs a value, e.g. '" + name + "=4'");
        return false;
      }
      if (name == "bufpolicy") return true;
      if (name == "backend") {
        if (value == "auto" || value == "jump" || value == "trap") return true;
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option 'backend': '" + value + "' is not a backend; use auto, jump or trap");
        return false;
      }
      if (name == "agentjit") {
        if (value == "on" || value == "off") return true;
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option 'agentjit': '" + value + "' is not a setting; use on or off");
        return false;
      }
      if (name == "aggfmt") {
        if (value == "text" || value == "folded") return true;
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option 'aggfmt': '" + value + "' is not an aggregation format; use text or "
                        "folded");
        return false;
      }
      if (name == "metrics") return true;  // ADDR:PORT, checked by the command when it listens
      if (name == "retprobe") {
        if (value == "auto" || value == "ret-site" || value == "retsite" || value == "hijack") return true;
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option 'retprobe': '" + value + "' is not a mechanism; use auto, "
                        "ret-site or hijack");
        return false;
      }
      if (name == "amin") {
        if (parse_attributes(value)) return true;
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option 'amin': '" + value + "' is not a set of attributes; write "
                        "name/data/class, e.g. Evolving/Evolving/Common");
        return false;
      }
      if (name == "version") {
        if (option_version(value)) return true;
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option 'version': '" + value + "' is not a D version this compiler " +
                            "supports; use one from 1.0 to " + kDVersion);
        return false;
      }
      if (name == "switchrate" || name == "aggrate" || name == "cleanrate" || name == "statusrate") {
        if (option_rate_ns(value)) return true;
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option '" + name + "': '" + value + "' is not a rate; use a number with " +
                            "an optional unit: hz (the default), ns, us, ms, s, m, h or d (10hz, 500ms)");
        return false;
      }
      if (name == "progress") return true;  // seconds, checked by the command (-x progress=0.5)
      // Sizes and counts: a number with an optional k, m, g or t suffix.
      if (!option_size(value)) {
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option '" + name + "': '" + value + "' is not a size; use a number " +
                            "with an optional k, m, g or t suffix (4m)");
        return false;
      }
      // dtrace's dt_opt_strsize: a string holds at least its NUL and one
      // character.
      if (name == "strsize" && *option_size(value) < 2) {
        ctx.diags.error("D_PRAGMA_OPTSET", loc,
                        "failed to set option 'strsize': '" + value + "' is too small; use 2 or more");
        return false;
      }
    } else if (!option_switch(value)) {
      ctx.diags.error("D_PRAGMA_OPTSET", loc,
                      "failed to set option '" + name + "': '" + value + "' is not a value for a switch; write '" +
                          name + "' (or " + name + "=yes, =no, =1, =0)");
      return false;
    }
    return true;
  }
};

// --- semantic analysis --------------------------------------------------------

std::string quoted_fn(const std::string& name) { return "'" + name + "()'"; }

std::optional<int64_t> const_int(const Expr& e) {
  switch (e.kind) {
  case ExprKind::integer: return static_cast<int64_t>(e.ival);
  case ExprKind::sizeof_type:
  case ExprKind::sizeof_expr: return static_cast<int64_t>(e.ival);
  case ExprKind::cast: {
    auto v = const_int(*e.kids[0]);
    if (!v || !e.type.is_scalar()) return std::nullopt;
    return normalize_to(e.type, *v);
  }
  case ExprKind::unary: {
    auto v = const_int(*e.kids[0]);
    if (!v) return std::nullopt;
    switch (e.op) {
    case Op::neg: return normalize_to(e.type, static_cast<int64_t>(0ULL - static_cast<uint64_t>(*v)));
    case Op::plus: return *v;
    case Op::bnot: return normalize_to(e.type, ~*v);
    case Op::lnot: return *v == 0 ? 1 : 0;
    default: return std::nullopt;
    }
  }
  case ExprKind::binary: {
    auto a = const_int(*e.kids[0]);
    auto b = const_int(*e.kids[1]);
    if (!a || !b) return std::nullopt;
    uint64_t ua = static_cast<uint64_t>(*a), ub = static_cast<uint64_t>(*b);
    switch (e.op) {
    case Op::add: return normalize_to(e.type, static_cast<int64_t>(ua + ub));
    case Op::sub: return normalize_to(e.type, static_cast<int64_t>(ua - ub));
    case Op::mul: return normalize_to(e.type, static_cast<int64_t>(ua * ub));
    case Op::band: return *a & *b;
    case Op::bor: return *a | *b;
    case Op::bxor: return *a ^ *b;
    case Op::shl: return normalize_to(e.type, static_cast<int64_t>(ua << (ub & 63)));
    default: return std::nullopt;
    }
  }
  default: return std::nullopt;
  }
}

ArgType arg_type_of(const Type& t) {
  ArgType a;
  switch (t.kind) {
  case Type::Kind::string: a.kind = Value::Kind::string; break;
  case Type::Kind::stack: a.kind = Value::Kind::stack; break;
  case Type::Kind::symbol: a.kind = Value::Kind::symbol; break;
  case Type::Kind::floating:
    a.kind = Value::Kind::floating;
    a.size = t.size;
    break;
  case Type::Kind::pointer:
    a.kind = Value::Kind::integer;
    a.size = 8;
    a.is_signed = false;
    break;
  default:
    a.kind = Value::Kind::integer;
    a.size = t.size;
    a.is_signed = t.is_signed;
  }
  return a;
}

bool compatible(const Type& var, const Type& value) {
  // A struct or union takes only a value of its own type, as in C.
  if (var.object || value.object) return var.object && value.object && var.tag == value.tag;
  if (var.is_scalar() && value.is_scalar()) return true;
  if (var.is_floating()) return value.is_floating() && var.size == value.size;  // no conversions
  return var.kind == value.kind;
}

// DTrace's string is a char array, so its pointer rules (dt_node_is_strcompat,
// dt_node_is_ptrcompat) let a string meet NULL, the constant 0 or a pointer
// in a comparison, an assignment or a '?:': the pointer is read as the
// string it points to, 0 as the NULL string (less than every string,
// equal only to itself). Wraps such an operand `k` in a stringof (ival 1:
// made here; is_postfix: NULL-tolerant, else reading 0 faults, as a string
// function's NULL argument does) and says whether it did.
bool string_from_pointer(ExprPtr& k, bool null_ok = true) {
  const Type& t = k->type;
  const bool zero = k->kind == ExprKind::integer && k->ival == 0 && (t.is_integer() || t.kind == Type::Kind::pointer);
  if (!zero && !(t.kind == Type::Kind::pointer && !t.object)) return false;
  auto w = std::make_unique<Expr>(ExprKind::stringof, k->loc);
  w->ival = 1;
  w->is_postfix = null_ok;
  w->type = Type::string();
  w->kids.push_back(std::move(k));
  k = std::move(w);
  return true;
}

// A member DTrace's translators give as a char array (curpsinfo->pr_fname,
// pr_psargs, curlwpsinfo->pr_name), which probekit types as a string.
bool is_char_array(const Expr& e) {
  return e.kind == ExprKind::ident && e.type.is_string() &&
         (e.id == static_cast<int>(Var::curpsinfo) || e.id == static_cast<int>(Var::curlwpsinfo));
}

// The globals a statement assigns (x = v, x op= v, x++), wherever in it.
void assigned_globals(const Expr& e, std::set<std::string>& out) {
  if ((e.kind == ExprKind::assign || e.kind == ExprKind::incdec) && !e.kids.empty() &&
      e.kids[0]->kind == ExprKind::ident)
    out.insert(e.kids[0]->text);
  for (const auto& k : e.kids)
    if (k) assigned_globals(*k, out);
}

class SemanticPass : public Pass, public Visitor<SemanticPass> {
public:
  SemanticPass() : Pass("semantic") {}

  void run(PassContext& ctx) override {
    ctx_ = &ctx;
    syms_ = &ctx.symbols;
    ctx.symbols.object_sizes.clear();
    for (const StructType& st : ctx.ast.structs) ctx.symbols.object_sizes.push_back(st.size);
    // Declarations first: they type variables before any use.
    report_ = true;
    for (auto& d : ctx.ast.decls) declare(d);
    if (ctx.diags.has_errors()) return;
    check_translators();
    if (ctx.diags.has_errors()) return;
    // Two quiet rounds declare variables from their assignments wherever
    // they are in the program (a predicate may test self->ts before the
    // clause that sets it), then one round reports.
    for (int round = 0; round < 3; ++round) {
      report_ = round == 2;
      defined_globals_.clear();
      // An inline sees the inlines declared before it.
      for (size_t i = 0; i < syms_->inlines.size(); ++i) {
        InlineDecl& in = syms_->inlines[i];
        visible_inlines_ = i;
        statement_top_ = false;
        inline_params_ = &in;
        if (in.value->kind == ExprKind::xlate) {
          // inline struct s i = xlate<struct s>(e): used through its
          // members, where visit_member expands it.
          visit_kids(*in.value, 0);
          inline_params_ = nullptr;
          continue;
        }
        visit(*in.value);
        inline_params_ = nullptr;
        const Type& t = in.value->type;
        if (!t.is_none() && !compatible(in.type, t))
          error("D_OP_INCOMPAT", in.value->loc,
                "inline " + in.name + " definition uses incompatible types: \"" + in.type.name() + "\" = \"" +
                    t.name() + "\"");
      }
      visible_inlines_ = syms_->inlines.size();
      for (auto& c : ctx.ast.clauses) {
        clause_ = &c;
        after_speculate_ = false;
        if (c.predicate) {
          statement_top_ = false;
          if (report_)
            for (auto& s : c.body) assigned_globals(*s, defined_globals_);
          visit(*c.predicate);
          if (report_ && !c.predicate->type.is_none() && !c.predicate->type.is_scalar())
            error("D_PRED_SCALAR", c.predicate->loc,
                  "predicate must be of integer or pointer type, not " + c.predicate->type.name() +
                      (c.predicate->type.is_string() ? "; compare it, e.g. /execname == \"sh\"/" : ""));
        }
        for (auto& s : c.body) {
          statement_top_ = true;
          visit(*s);
        }
      }
    }
  }

  void visit_integer(Expr& e) {
    if (e.type.is_none()) e.type = Type::integer(4, true);
  }
  void visit_string(Expr& e) { e.type = Type::string(); }
  void visit_macro(Expr& e) { e.type = Type::integer(); }

  void visit_ident(Expr& e) {
    if (e.id == static_cast<int>(Var::curpsinfo) || e.id == static_cast<int>(Var::curlwpsinfo))
      return;  // curpsinfo->M, typed by visit_proc_member in an earlier round
    if (inline_params_) {
      // A key of the inline array being typed: its declared type (a use
      // replaces it by the argument).
      const auto& names = inline_params_->params;
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == e.text) {
          e.type = inline_params_->keys[i];
          return;
        }
    }
    if (const InlineDecl* in = find_inline(e.text)) {
      if (!in->value->type.is_none() && !compatible(in->type, in->value->type)) {
        e.type = in->type;  // its definition is reported; no second error here
        return;
      }
      // The inline's value, converted to its declared type, in place of
      // the name (DTrace expands inlines where they are used).
      ExprPtr value = clone(*in->value);
      e.kind = ExprKind::cast;
      e.cast_type = in->type;
      e.kids.clear();
      e.kids.push_back(std::move(value));
      visit_cast(e);
      return;
    }
    if (const VarInfo* v = find_var(e.text)) {
      // -x amin: a built-in's attributes below it are D_ATTR_MIN (dtrace's
      // dt_node_attr_assign). curthread is the one whose data are Private
      // (dt_open.c); every other built-in variable is Stable/Stable/Common.
      if (auto amin = option_attributes("amin")) {
        const std::array<int, 3> attr = v->var == Var::curthread ? std::array<int, 3>{6, 1, 5}
                                                                  : std::array<int, 3>{6, 6, 5};
        if (attr[0] < (*amin)[0] || attr[1] < (*amin)[1] || attr[2] < (*amin)[2]) {
          error("D_ATTR_MIN", e.loc,
                "the attributes of '" + e.text + "' (" + (v->var == Var::curthread ? "Stable/Private/Common" : "Stable/Stable/Common") +
                    ") are below the minimum the amin option asks for: lower it (-x amin=...) or do without '" +
                    e.text + "'");
          return;
        }
      }
      // DTrace's caller and stackdepth are of the kernel's stack: at a probe
      // that fires in user space (pid, usdt, BEGIN, tick, ...) it holds no
      // kernel frame, so they are 0 (dtrace-utils' own at a uprobe); at a
      // kernel probe they are frames probekit does not read.
      if ((v->var == Var::caller || v->var == Var::stackdepth) && fires_in_kernel()) {
        error("D_VAR_UNSUP", e.loc,
              "'" + e.text + "' at a kernel probe is " +
                  (v->var == Var::caller ? "the kernel's caller" : "the depth of the kernel's stack") +
                  ", which probekit does not read: use it at a user-space probe (pid, usdt), or '" +
                  (v->var == Var::caller ? "ucaller" : "ustackdepth") + "' for the process's");
        return;
      }
      if (v->var == Var::curpsinfo || v->var == Var::curlwpsinfo) {
        // DTrace's psinfo_t * is a translation of the kernel's task_struct,
        // which probekit cannot point at: only its members are read.
        error("D_VAR_UNSUP", e.loc,
              "'" + e.text + "' is read through its members, e.g. '" + e.text + "->" +
                  (v->var == Var::curpsinfo ? "pr_pid" : "pr_lwpid") + "'");
        return;
      }
      e.id = static_cast<int>(v->var);
      e.type = v->type;
      if (v->var == Var::curcpu && ctx_->ast.cpuinfo_tag != 0) {
        // sched.d's cpuinfo_t * (kCpuInfoBase: the firing CPU's entry).
        e.type = Type::pointer();
        e.type.tag = ctx_->ast.cpuinfo_tag;
      }
      return;
    }
    if (auto r = find_register(e.text)) {
      // Register names are integer constants for uregs[].
      e.kind = ExprKind::integer;
      e.ival = static_cast<uint64_t>(*r);
      e.type = Type::integer(4, true);
      return;
    }
    if (auto c = find_constant(e.text)) {
      e.kind = ExprKind::integer;
      e.ival = static_cast<uint64_t>(*c);
      e.type = Type::integer(4, true);
      return;
    }
    if (e.text == "NULL") {
      e.kind = ExprKind::integer;
      e.ival = 0;
      e.type = Type::pointer();
      return;
    }
    if (VarDecl* g = syms_->find(syms_->globals, e.text)) {
      if (in_memory(*g) && !(clause_ && clause_->predicate.get() == &e)) {
        // A declared array's name is the address of its first element
        // (dtrace: `int *p = a;`, `((int *)a)[i]`).
        e.slot = g->slot;
        e.id = kArrayDecay;
        e.ival = static_cast<uint64_t>(g->dim);
        e.type = element_pointer(g->type);
        e.cast_type = g->type;  // the element's type, for sizeof a
        return;
      }
      if (g->is_array) {
        error(bare_array_tag(e), e.loc,
              "'" + e.text + "' is an associative array: index it, e.g. " + e.text + "[key]");
        return;
      }
      e.slot = g->slot;
      e.type = g->type;
      e.alloca = g->alloca;
      if (report_ && g->type.is_none()) undefined(e, "variable '" + e.text + "' is never assigned a value");
      else if (report_ && !g->declared && !defined_globals_.count(e.text))
        // dtrace cooks clauses in program order and a global exists from
        // its first assignment on (dt_xcook_ident): END's `timestamp -
        // start` before BEGIN's `start = timestamp` is unknown.
        undefined(e, "variable '" + e.text + "' is read before the program first assigns it (its clauses run in "
                     "program order)");
      return;
    }
    if (auto v = target_enumerator(e.text)) {
      // An enumerator of the target's (DWARF), as DTrace reads CTF's.
      e.kind = ExprKind::integer;
      e.ival = static_cast<uint64_t>(*v);
      e.type = Type::integer(4, true);
      return;
    }
    if (e.text == "args" || e.text == "uregs") {
      error("D_IDENT_BADREF", e.loc, "'" + e.text + "' is an array: index it, e.g. " + e.text + "[0]");
      return;
    }
    undefined(e, "");
  }

  std::optional<int64_t> target_enumerator(const std::string& name) {
    if (!ctx_->options.target_type) return std::nullopt;
    auto [it, fresh] = target_enumerators_.try_emplace(name);
    if (fresh)
      if (auto a = ctx_->options.target_type("enumerator " + name); a && a->is_enum)
        for (const auto& [value, n] : a->enumerators)
          if (n == name) it->second = value;
    return it->second;
  }
  std::map<std::string, std::optional<int64_t>> target_enumerators_;

  // The scratch space a clause may allocate (-x scratchsize), or nullopt
  // when the option does not parse (reported where options are checked).
  std::optional<uint64_t> scratch_limit() const {
    auto it = syms_->options.find("scratchsize");
    return it == syms_->options.end() ? std::optional<uint64_t>(kScratchSize) : option_size(it->second);
  }

  // True when a description of the clause being checked names probes that
  // fire in the kernel (CompileOptions::probe_fields' `kernel`), where
  // stack(), stackdepth and caller are kernel frames.
  bool fires_in_kernel() const {
    if (!clause_ || !ctx_->options.probe_fields) return false;
    for (const auto& d : clause_->descs)
      if (ctx_->options.probe_fields(description_of(d)).kernel) return true;
    return false;
  }

  // "BEGIN" or "END" when every description of the clause being checked
  // names dtrace:::BEGIN or dtrace:::END (probes with no arguments), else null.
  const char* argless_clause() const {
    if (!clause_ || clause_->descs.empty()) return nullptr;
    const char* first = nullptr;
    for (const auto& d : clause_->descs) {
      if (!(d.provider.empty() || d.provider == "dtrace") || !d.module.empty() || !d.function.empty() ||
          (d.name != "BEGIN" && d.name != "END"))
        return nullptr;
      if (!first) first = d.name == "BEGIN" ? "BEGIN" : "END";
    }
    return first;
  }

  // How many arguments the clause's probes have, when its descriptions are
  // all system call entries whose arguments the CLI knows (probe_args):
  // the fewest of them.
  std::optional<int64_t> syscall_arg_count() {
    if (!ctx_->options.probe_args || !clause_ || clause_->descs.empty()) return std::nullopt;
    std::optional<int64_t> fewest;
    for (const auto& d : clause_->descs) {
      if (!(d.provider.empty() || d.provider == "syscall") || d.name != "entry") return std::nullopt;
      auto args = ctx_->options.probe_args(description_of(d));
      if (!args) return std::nullopt;
      const auto n = static_cast<int64_t>(args->size());
      fewest = fewest ? std::min(*fewest, n) : n;
    }
    return fewest;
  }

  // args[n] of a clause whose descriptions all name functions whose
  // parameter n is a double (or all a float): that floating type, as
  // DTrace types args[] from CTF; otherwise the 64-bit integer argN is.
  Type typed_arg(size_t n) {
    if (!ctx_->options.probe_args || !clause_ || clause_->descs.empty()) return Type::integer(8, true);
    uint8_t size = 0;
    for (const auto& d : clause_->descs) {
      auto args = ctx_->options.probe_args(description_of(d));
      if (!args || n >= args->size() || (*args)[n].kind != ProbeArg::Kind::floating) return Type::integer(8, true);
      uint8_t s = (*args)[n].size == 4 ? 4 : 8;
      if (size && s != size) return Type::integer(8, true);
      size = s;
    }
    return Type::floating(size);
  }

  // --- translators (DTrace's dt_xlator) ---------------------------------------------

  static bool same_input(const Type& a, const Type& b) { return a == b && a.tag == b.tag; }

  // A translator member's value for `input`: its expression, with the
  // translator's parameter standing for the input.
  static ExprPtr translated(const Expr& value, const std::string& param, const Expr& input) {
    ExprPtr v = clone(value);
    auto substitute = [&](auto& self, Expr& e) -> void {
      if (e.kind == ExprKind::ident && e.text == param) {
        ExprPtr in = clone(input);
        e = std::move(*in);
        return;
      }
      for (auto& k : e.kids) self(self, *k);
    };
    substitute(substitute, *v);
    return v;
  }

  static const StructType::Field* field_of(const StructType& st, const std::string& name) {
    for (const auto& f : st.fields)
      if (f.name == name) return &f;
    return nullptr;
  }

  // The member's C assignment rule (dt_node_is_argcompat, for the types D has).
  static bool member_accepts(const Type& member, const Type& value) {
    if (member.is_integer()) return value.is_integer();
    if (member.kind == Type::Kind::pointer) return value.kind == Type::Kind::pointer;
    if (member.is_floating()) return member == value;
    return false;
  }

  // Each translator once, where it is declared: its members exist in the
  // output and their values have compatible types (the input typed as
  // declared).
  void check_translators() {
    auto& trs = ctx_->ast.translators;
    clause_ = nullptr;
    for (size_t i = 0; i < trs.size(); ++i) {
      Translator& tr = trs[i];
      for (size_t j = 0; j < i; ++j)
        if (trs[j].output == tr.output && same_input(trs[j].input, tr.input)) {
          error("D_XLATE_REDECL", tr.loc,
                "translator from " + tr.input_name + " to " + tr.output + " has already been declared");
          break;
        }
      if (tr.output_tag == 0 || tr.output_tag > ctx_->ast.structs.size()) continue;
      const StructType& st = ctx_->ast.structs[tr.output_tag - 1u];
      // A stand-in for the input, typed as it: (T)0, or *(struct in *)0
      // for a struct value.
      Expr input(ExprKind::cast, tr.loc);
      input.cast_type = tr.input;
      if (tr.input.object) {
        input.cast_type = Type::pointer();
        input.cast_type.tag = tr.input.tag;
      }
      auto zero = std::make_unique<Expr>(ExprKind::integer, tr.loc);
      zero->type = Type::integer(4, true);
      input.kids.push_back(std::move(zero));
      if (tr.input.object) {
        Expr deref(ExprKind::unary, tr.loc);
        deref.op = Op::deref;
        deref.kids.push_back(std::make_unique<Expr>(std::move(input)));
        input = std::move(deref);
      }
      for (auto& m : tr.members) {
        const StructType::Field* f = field_of(st, m.name);
        if (!f) {
          error("D_XLATE_MEMB", m.loc, "translator member " + m.name + " is not a member of " + tr.output);
          continue;
        }
        ExprPtr v = translated(*m.value, tr.param, input);
        statement_top_ = false;
        visit(*v);
        if (v->type.is_none()) continue;
        if (!member_accepts(f->type, v->type))
          error("D_XLATE_INCOMPAT", m.value->loc,
                "translator member " + m.name + " definition uses incompatible types: \"" +
                    (f->type.is_none() ? "struct or array" : f->type.name()) + "\" = \"" + v->type.name() + "\"");
      }
    }
  }

  // xlate<OUT>(e).m, xlate<OUT *>(e)->m: the translator from e's type to
  // OUT gives m's value, converted to m's type; the member node becomes that.
  void visit_translated_member(Expr& e) {
    Expr& x = *e.kids[0];
    visit_kids(x, 0);
    const Type& in = x.kids[0]->type;
    if (in.is_none()) return;
    const Translator* found = nullptr;
    for (const auto& tr : ctx_->ast.translators) {
      if (tr.output != x.text) continue;
      bool fits = tr.input.object                         ? in.object && in.tag == tr.input.tag
                  : tr.input.kind == Type::Kind::pointer ? in.kind == Type::Kind::pointer && !in.object &&
                                                               (tr.input.tag == 0 || in.tag == tr.input.tag)
                                                         : in.is_integer() && tr.input.is_integer();
      if (fits) {
        found = &tr;
        break;
      }
    }
    auto type_name = [&](const Type& t) {
      if (t.kind == Type::Kind::pointer && t.tag > 0 && t.tag <= ctx_->ast.structs.size())
        return ctx_->ast.structs[t.tag - 1u].name + " *";
      return t.name();
    };
    if (!found && (x.text == "struct psinfo" || x.text == "struct lwpsinfo") && x.kids[0]->kind == ExprKind::ident &&
        x.kids[0]->id == static_cast<int>(Var::curthread) && !find_inline(x.kids[0]->text)) {
      // procfs.d's translation of the current thread is curpsinfo's and
      // curlwpsinfo's: xlate<lwpsinfo_t *>(curthread)->M is curlwpsinfo->M.
      Expr cur(ExprKind::ident, x.loc);
      cur.text = x.text == "struct psinfo" ? "curpsinfo" : "curlwpsinfo";
      e.kids[0] = std::make_unique<Expr>(std::move(cur));
      e.is_postfix = false;
      return visit_proc_member(e);
    }
    if (!found) {
      const bool procfs = x.text == "struct psinfo" || x.text == "struct lwpsinfo";
      error("D_XLATE_NONE", x.loc,
            "cannot translate from \"" + type_name(in) + "\" to \"" +
                (procfs ? (x.text == "struct psinfo" ? "psinfo_t" : "lwpsinfo_t") : x.text) + "\"" +
                (procfs ? ": probekit translates only the current thread (curthread), or use curpsinfo" : ""));
      return;
    }
    const Translator::Member* member = nullptr;
    for (const auto& m : found->members)
      if (m.name == e.text) member = &m;
    if (!member) {
      error("D_XLATE_NOCONV", e.loc, "translator does not define conversion for member: " + e.text);
      return;
    }
    const StructType::Field* f =
        found->output_tag > 0 && found->output_tag <= ctx_->ast.structs.size()
            ? field_of(ctx_->ast.structs[found->output_tag - 1u], e.text)
            : nullptr;
    ExprPtr value = translated(*member->value, found->param, *x.kids[0]);
    Loc loc = e.loc;
    if (f && f->type.is_scalar()) {
      Expr cast(ExprKind::cast, loc);
      cast.cast_type = f->type;
      cast.kids.push_back(std::move(value));
      e = std::move(cast);
    } else {
      e = std::move(*value);
    }
    visit(e);
  }

  void visit_xlate(Expr& e) {
    visit_kids(e, 0);
    error("D_XLATE_NOCONV", e.loc,
          "a translated struct is used only through its members: xlate<" + e.text + (e.is_postfix ? " *>(p)->m" : ">(p).m"));
  }

  // args->FIELD: a field of the kernel tracepoints the clause's
  // descriptions name, typed from their formats (CompileOptions::
  // probe_fields): an integer of the field's size and sign, or a string.
  void visit_member(Expr& e) {
    if (!e.kids.empty() && e.kids[0]->kind == ExprKind::ident)
      if (const InlineDecl* in = find_inline(e.kids[0]->text); in && in->value->kind == ExprKind::xlate)
        e.kids[0] = clone(*in->value);  // i.m of `inline struct s i = xlate<struct s>(e)`
    if (!e.kids.empty() && e.kids[0]->kind == ExprKind::xlate) return visit_translated_member(e);
    if (!e.kids.empty() && !e.is_postfix && e.kids[0]->kind == ExprKind::ident &&
        (e.kids[0]->text == "curpsinfo" || e.kids[0]->text == "curlwpsinfo"))
      return visit_proc_member(e);
    if (!e.kids.empty()) return visit_pointer_member(e);
    bool applies = false, unknown = false;
    std::optional<ProbeField> found;
    std::vector<std::string> names, where;
    if (ctx_->options.probe_fields && clause_) {
      for (const auto& d : clause_->descs) {
        auto answer = ctx_->options.probe_fields(description_of(d));
        if (!answer.applies) continue;
        applies = true;
        unknown = unknown || answer.unknown;
        where.push_back(answer.what.empty() ? d.text : answer.what);
        for (const auto& f : answer.fields) {
          if (f.name == e.text && !found) found = f;
          if (std::find(names.begin(), names.end(), f.name) == names.end()) names.push_back(f.name);
        }
      }
    }
    if (found) {
      e.type = found->is_string() ? Type::string() : Type::integer(static_cast<uint8_t>(found->size), found->is_signed);
      return;
    }
    if (unknown) return;  // untyped; the CLI says why it cannot read the formats
    if (!applies) {
      error("D_ARGS_MEMBER", e.loc,
            "'args->" + e.text + "' needs a kernel tracepoint probe (tracepoint:SUBSYSTEM:EVENT, proc:::, "
            "sched:::, syscall::: without -c/-p); use args[N] or argN for other probes");
      return;
    }
    error("D_ARGS_MEMBER", e.loc,
          "no field '" + e.text + "' in " + join(where, ", ") + (names.empty() ? "" : "; its fields: " + join(names, ", ")));
  }

  // curpsinfo->M, curlwpsinfo->M: e becomes the built-in variable with
  // the member's ProcField in ival (builtins.h names which members exist).
  void visit_proc_member(Expr& e) {
    const bool lwp = e.kids[0]->text == "curlwpsinfo";
    const char* type = lwp ? "lwpsinfo_t" : "psinfo_t";
    const ProcMember* m = find_proc_member(lwp, e.text);
    if (!m) {
      error("D_TYPE_MEMBER", e.loc, e.text + " is not a member of " + type);
      return;
    }
    if (m->kind == ProcMember::Kind::no_conversion) {
      error("D_XLATE_NOCONV", e.loc,
            "translator does not define conversion for member: " + e.text + " (" + type +
                " has no value for it on Linux)");
      return;
    }
    if (m->kind == ProcMember::Kind::kernel_address) {
      error("D_VAR_UNSUP", e.loc,
            std::string(lwp ? "curlwpsinfo" : "curpsinfo") + "->" + e.text +
                " is an address in the kernel and probekit traces user space only");
      return;
    }
    e.text = e.kids[0]->text + "->" + e.text;
    e.kind = ExprKind::ident;
    e.kids.clear();
    e.id = static_cast<int>(lwp ? Var::curlwpsinfo : Var::curpsinfo);
    e.ival = static_cast<uint64_t>(m->field);
    e.type = m->type;
  }

  // p->member and x.member (is_postfix): p points to a struct or union,
  // x is one (its address); the member is read at that address + its
  // offset (ival). The checks and tags are dt_cook_op2's: D_OP_PTR,
  // D_OP_SOU, D_OP_INCOMPLETE for a forward declaration, D_TYPE_MEMBER.
  void visit_pointer_member(Expr& e) {
    visit_kids(e, 0);
    const Type& t = e.kids[0]->type;
    if (t.is_none()) return;
    const bool dot = e.is_postfix;
    const char* op = dot ? "." : "->";
    if (!dot && (t.kind != Type::Kind::pointer || t.object)) {
      error("D_OP_PTR", e.loc,
            "operator -> must be applied to a pointer, not " + type_name(t) +
                (t.object ? "; use '.' for a member of a struct value" : ""));
      return;
    }
    if (dot && !t.object) {
      error("D_OP_SOU", e.loc,
            "operator . cannot be applied to type \"" + type_name(t) + "\"; must be applied to a struct or union" +
                (t.kind == Type::Kind::pointer && t.tag ? ": use '->' for a member through a pointer" : ""));
      return;
    }
    if (t.tag == 0 || t.tag > ctx_->ast.structs.size()) {
      error("D_OP_SOU", e.loc,
            "operator -> cannot be applied to pointer to type \"" + type_name(t) +
                "\"; must be applied to a struct or union pointer: cast it, e.g. ((struct foo *)p)->" + e.text);
      return;
    }
    const StructType* st = &ctx_->ast.structs[t.tag - 1u];
    if (!st->complete) {
      error("D_OP_INCOMPLETE", e.loc,
            std::string("operator ") + op + " cannot be applied to a forward declaration: no " + st->name +
                " definition is available; define it before reading its members");
      return;
    }
    // "a.b.c": the target's types list nested members flattened; the
    // program's structs hold the nested struct, walked one name at a time.
    uint64_t base = 0;
    std::string rest = e.text;
    for (;;) {
      const StructType::Field* found = nullptr;
      for (const auto& f : st->fields)
        if (f.name == rest) found = &f;
      std::string name = rest, tail;
      if (!found) {
        if (auto dotpos = rest.find('.'); dotpos != std::string::npos) {
          name = rest.substr(0, dotpos);
          tail = rest.substr(dotpos + 1);
          for (const auto& f : st->fields)
            if (f.name == name) found = &f;
        }
      }
      if (!found) {
        error("D_TYPE_MEMBER", e.loc, name + " is not a member of " + st->name);
        return;
      }
      const StructType::Field& f = *found;
      if (!tail.empty()) {
        if (f.nested == 0 || f.nested > ctx_->ast.structs.size()) {
          error("D_OP_SOU", e.loc,
                "operator . cannot be applied to type \"" + (f.type.is_none() ? std::string("array") : f.type.name()) +
                    "\"; must be applied to a struct or union (member '" + name + "' of " + st->name + ")");
          return;
        }
        base += f.offset;
        st = &ctx_->ast.structs[f.nested - 1u];
        rest = tail;
        continue;
      }
      e.ival = base + f.offset;
      if (f.nested > 0 && f.nested <= ctx_->ast.structs.size()) {
        e.type = Type::aggregate(f.nested);
        e.id = kMemberObject;
        return;
      }
      if (f.is_array || f.bit_size > 0) {
        // Read by the compiler as an address (arrays) or a bit-field.
        e.type = f.type;
        e.id = f.is_array ? kMemberArray : kMemberBitField;
        e.slot = f.bit_offset * 256 + f.bit_size;
        return;
      }
      if (!f.type.is_scalar() && !f.type.is_floating()) {
        error("D_OP_SOU", e.loc,
              "member '" + e.text + "' of " + st->name +
                  " is an array: read it with copyin(), at its offsetof()");
        return;
      }
      e.type = f.type;
      return;
    }
  }

  // A type as messages name it: a struct value or pointer by its struct's name.
  std::string type_name(const Type& t) const {
    if (t.tag > 0 && t.tag <= ctx_->ast.structs.size())
      return ctx_->ast.structs[t.tag - 1u].name + (t.object ? "" : " *");
    return t.name();
  }

  // self->p[i] (the parser's thread-local array "self->p" keyed by tid, i)
  // of a pointer or string self-> variable is *(self->p + i).
  bool self_badref_ = false;  // self_pointer_index reported self->a[1, 2] of a declared array
  bool self_pointer_index(Expr& e) {
    if (e.text.rfind("self->", 0) != 0) return false;
    const VarDecl* v = syms_->find(syms_->thread_vars, e.text.substr(6));
    if (v && v->is_array && v->dim > 0 && e.kids.size() != 2) {
      error("D_ARR_BADREF", e.loc,
            "'" + e.text + "' is an array of " + std::to_string(v->dim) +
                " elements, not an associative array: index it with one integer, e.g. " + e.text + "[0]");
      e.type = Type::none();
      self_badref_ = true;
      return false;
    }
    if (e.kids.size() != 2) return false;
    if (!v || (v->is_array && v->dim == 0)) return false;
    const Type& t = v->type;
    // self->a[i] of `self int a[5]` is *(self->a + i) too, self->a being
    // the address of its first element.
    if (!v->is_array && !t.is_string() && (t.kind != Type::Kind::pointer || t.object || t.pointee_size == 0))
      return false;
    auto var = std::make_unique<Expr>(ExprKind::self_var, e.loc);
    var->text = e.text.substr(6);
    auto index = std::move(e.kids[1]);
    as_deref_of_sum(e, std::move(var), std::move(index));
    return true;
  }

  // e becomes *(base + index), its sum marked as an index (is_postfix).
  static void as_deref_of_sum(Expr& e, std::unique_ptr<Expr> base, std::unique_ptr<Expr> index) {
    auto sum = std::make_unique<Expr>(ExprKind::binary, e.loc);
    sum->op = Op::add;
    sum->is_postfix = true;
    sum->kids.push_back(std::move(base));
    sum->kids.push_back(std::move(index));
    e.kids.clear();
    e.kids.push_back(std::move(sum));
    e.kind = ExprKind::unary;
    e.op = Op::deref;
    e.text.clear();
    e.id = -1;
  }

  // A declared array of integers or pointers (`int a[5];`) keeps its
  // elements in D memory, as C lays them out, so that &a[i], `a` and
  // pointer arithmetic on them work as in DTrace.
  static bool in_memory(const VarDecl& g) { return g.is_array && g.dim > 0 && (g.type.is_scalar() || g.type.object); }
  // The bytes of one element of a declared array (a struct's or union's
  // size, Symbols::object_sizes).
  uint64_t element_size(const Type& t) const {
    if (t.object) return t.tag > 0 && t.tag <= syms_->object_sizes.size() ? syms_->object_sizes[t.tag - 1u] : 0;
    return t.size;
  }
  // A pointer to an element of a declared array: &a[i], and a itself.
  static Type element_pointer(const Type& t) {
    if (t.object) {  // a pointer to the struct, which p->m reads
      Type p = Type::pointer();
      p.tag = t.tag;
      return p;
    }
    return Type::pointer(t.size, t.is_signed && t.is_integer());
  }

  // p[i] of a pointer variable p is *(p + i), as in C, and s[i] of a
  // string variable or built-in (execname[0]) the same, char i of the
  // string: e becomes that, its sum marked as an index (is_postfix).
  bool pointer_index(Expr& e, const Type& t) {
    if (e.kids.size() != 1) return false;
    if (!t.is_string() && (t.kind != Type::Kind::pointer || t.object || t.pointee_size == 0)) return false;
    auto var = std::make_unique<Expr>(ExprKind::ident, e.loc);
    var->text = e.text;
    auto index = std::move(e.kids[0]);
    as_deref_of_sum(e, std::move(var), std::move(index));
    return true;
  }

  void visit_self_var(Expr& e) { use_var(e, syms_->thread_vars, "self->"); }
  void visit_this_var(Expr& e) { use_var(e, syms_->clause_vars, "this->"); }

  // a[1, 2] of `inline int a[int x, int y] = x + y`: the value with each
  // key name replaced by the argument, converted to the inline's type (as
  // dt_node_inline expands it where it is used); the arguments' count and
  // types are the keys' (D_PROTO_LEN, D_PROTO_ARG).
  void expand_inline_array(Expr& e, const InlineDecl& in) {
    if (e.kids.size() != in.params.size()) {
      error("D_PROTO_LEN", e.loc,
            "inline " + in.name + " takes " + std::to_string(in.params.size()) + " key" +
                (in.params.size() == 1 ? "" : "s") + ", not " + std::to_string(e.kids.size()));
      return;
    }
    for (size_t i = 0; i < e.kids.size(); ++i)
      if (!e.kids[i]->type.is_none() && !compatible(in.keys[i], e.kids[i]->type)) {
        error("D_PROTO_ARG", e.kids[i]->loc,
              "inline " + in.name + " key #" + std::to_string(i + 1) + " must be " + in.keys[i].name() + ", not " +
                  e.kids[i]->type.name());
        return;
      }
    if (!in.value->type.is_none() && !compatible(in.type, in.value->type)) {
      e.type = in.type;  // its definition is reported; no second error here
      return;
    }
    ExprPtr value = clone(*in.value);
    std::function<void(ExprPtr&)> bind = [&](ExprPtr& x) {
      if (!x) return;
      if (x->kind == ExprKind::ident)
        for (size_t i = 0; i < in.params.size(); ++i)
          if (x->text == in.params[i]) {
            x = clone(*e.kids[i]);
            return;
          }
      for (auto& k : x->kids) bind(k);
    };
    bind(value);
    e.kind = ExprKind::cast;
    e.cast_type = in.type;
    e.text.clear();
    e.kids.clear();
    e.kids.push_back(std::move(value));
    visit_cast(e);
  }

  void visit_index(Expr& e) {
    visit_kids(e, 0);
    if (e.text == "args") {
      e.id = static_cast<int>(IndexKind::args);
      e.type = Type::integer(8, true);
      const int64_t i = (e.kids.size() == 1 ? const_int(*e.kids[0]) : std::nullopt).value_or(-1);
      if (e.kids.size() == 1 && !e.kids[0]->type.is_none() && !e.kids[0]->type.is_scalar()) {
        // dtrace: the index fails args[]'s prototype (an integer).
        error("D_PROTO_ARG", e.kids[0]->loc, "index of 'args[]' must be an integer from 0 to 9, not " +
                                                 e.kids[0]->type.name());
      } else if (i < 0 || i > 9) {
        error("D_ARGS_IDX", e.loc, "index of 'args[]' must be an integer constant from 0 to 9");
      } else if (const char* none = argless_clause()) {
        // dtrace:::BEGIN and END have no arguments (dt_probe's argc 0).
        error("D_ARGS_IDX", e.loc,
              "index " + std::to_string(i) + " is out of range for dtrace:::" + none +
                  " args[]: the probe has no arguments");
      } else if (auto n = syscall_arg_count(); n && i >= *n) {
        // dtrace's syscall provider gives a call its own arguments only.
        error("D_ARGS_IDX", e.loc,
              "index " + std::to_string(i) + " is out of range for " + clause_->descs[0].text + " args[]: it has " +
                  std::to_string(*n) + " argument" + (*n == 1 ? "" : "s"));
      } else {
        e.ival = static_cast<uint64_t>(i);
        e.type = typed_arg(static_cast<size_t>(i));
      }
      return;
    }
    if (e.text == "uregs") {
      e.id = static_cast<int>(IndexKind::uregs);
      e.type = Type::integer(8, false);
      auto v = e.kids.size() == 1 ? const_int(*e.kids[0]) : std::nullopt;
      if (!v || !is_register_number(*v))
        // dtrace takes only a constant index (D_PROTO_ARG otherwise); a
        // negative one is dt_idcook_regs' D_REGS_IDX, one past the last
        // register dt_cg_uregs' D_UNKNOWN.
        error(!v ? "D_PROTO_ARG" : *v < 0 ? "D_REGS_IDX" : "D_UNKNOWN", e.loc,
              !v || *v < 0 ? "index of 'uregs[]' must be a register constant such as 'R_PC' or 'R_RAX'"
                           : "uregs[" + std::to_string(*v) +
                                 "] is past the last register: use a register constant such as 'R_PC' or 'R_RAX'");
      else
        e.ival = static_cast<uint64_t>(uregs_word(static_cast<int>(*v)));
      return;
    }
    if (const InlineDecl* in = find_inline(e.text); in && !in->params.empty()) return expand_inline_array(e, *in);
    if (const VarInfo* v = find_var(e.text); v && pointer_index(e, v->type)) return visit(e);
    if (self_pointer_index(e)) return visit(e);
    if (std::exchange(self_badref_, false)) return;
    if (find_var(e.text) || find_function(e.text)) {
      error("D_ARR_BADREF", e.loc, "'" + e.text + "' is not an array and cannot be indexed");
      return;
    }
    e.id = static_cast<int>(IndexKind::array);
    VarDecl* g = syms_->find(syms_->globals, e.text);
    if (!g) {
      undefined(e, "");
      return;
    }
    if (!g->is_array) {
      if (pointer_index(e, g->type)) return visit(e);
      error("D_ARR_BADREF", e.loc, "'" + e.text + "' is a scalar variable and cannot be indexed");
      return;
    }
    if (!fixed_array_keys(e, *g)) return;
    check_keys(e, g->keys, 0, "'" + e.text + "[]'");
    check_bounds(e, *g);
    e.slot = g->slot;
    e.type = g->type;
    if (report_ && g->type.is_none()) undefined(e, "array '" + e.text + "' is never assigned a value");
  }

  void visit_if_stmt(Expr& e) {
    statement_top_ = false;
    visit(*e.kids[0]);
    const Type& t = e.kids[0]->type;
    if (!t.is_none() && !t.is_scalar())
      error("D_OP_SCALAR", e.kids[0]->loc,
            "the condition of 'if' must be an integer or pointer, not " + t.name() +
                (t.is_string() ? "; compare it, e.g. if (execname == \"sh\")" : ""));
    for (size_t i = 1; i < e.kids.size(); ++i) visit(*e.kids[i]);
  }

  void visit_block(Expr& e) {
    for (auto& s : e.kids) {
      statement_top_ = true;
      visit(*s);
    }
  }

  void visit_agg_ref(Expr& e) {
    AggDecl* a = syms_->find_agg(e.text);
    if (!a || !a->declared) {
      if (report_)
        error("D_AGG_UNDEF", e.loc,
              "aggregation '@" + e.text + "' is not defined: assign it first, e.g. @" + e.text + " = count()");
      return;
    }
    e.slot = a->slot;
    e.type = Type::none();
  }

  void visit_agg_set(Expr& e) {
    bool top = statement_top_;
    statement_top_ = false;
    if (!top) {
      error("D_SYNTAX", e.loc, "an aggregation assignment must be a statement of its own");
      return;
    }
    Expr& call = *e.kids[0];
    visit_kids(e, 1);
    for (auto& k : call.kids) visit(*k);
    const AggFnInfo* fn = find_agg_function(call.text);
    if (!fn && !find_function(call.text)) {
      error("D_FUNC_UNDEF", call.loc,
            "unknown function " + quoted_fn(call.text) + "; an aggregation takes count, sum, avg, min, max, stddev, "
            "quantize, lquantize or llquantize");
      return;
    }
    if (!fn) {
      error("D_AGG_FUNC", call.loc,
            quoted_fn(call.text) +
                " is not an aggregating function: use count, sum, avg, min, max, stddev, quantize, lquantize or llquantize");
      return;
    }
    call.id = static_cast<int>(fn->fn);
    int n = static_cast<int>(call.kids.size());
    if (n < fn->min_args || n > fn->max_args) {
      error("D_PROTO_LEN", call.loc, arg_count_message(std::string(fn->name), fn->min_args, fn->max_args, n));
      return;
    }
    // dt_cg's order and tags: the value (argument #1) must be a scalar
    // (D_AGG_SCALAR), then lquantize's and llquantize's parameters are
    // checked, each with its own tag, then the increment (D_PROTO_ARG).
    if (n > 0) {
      const Type& t = call.kids[0]->type;
      if (!t.is_none() && !t.is_scalar()) {
        error("D_AGG_SCALAR", call.kids[0]->loc,
              quoted_fn(call.text) + " argument #1 must be of scalar type, not " + t.name() +
                  (t.is_string() ? "; aggregate on it as a key instead, e.g. @[str] = count()" : ""));
        return;
      }
    }
    AggFunc func = static_cast<AggFunc>(fn->fn);  // same order as AggFunc
    AggParams params;
    int first_incr = 1;
    if (fn->fn == AggFn::lquantize || fn->fn == AggFn::llquantize) {
      static const char* const lq_tags[] = {"D_LQUANT_BASETYPE", "D_LQUANT_LIMTYPE", "D_LQUANT_STEPTYPE"};
      static const char* const llq_tags[] = {"D_LLQUANT_FACTORTYPE", "D_LLQUANT_LMAGTYPE", "D_LLQUANT_HMAGTYPE",
                                             "D_LLQUANT_STEPTYPE"};
      std::vector<int64_t> consts;
      int last = fn->fn == AggFn::lquantize ? std::min(n, 4) : 5;
      first_incr = last;
      for (int i = 1; i < last; ++i) {
        auto v = const_int(*call.kids[static_cast<size_t>(i)]);
        if (!v) {
          error(fn->fn == AggFn::lquantize ? lq_tags[i - 1] : llq_tags[i - 1], call.kids[static_cast<size_t>(i)]->loc,
                quoted_fn(call.text) + " argument #" + std::to_string(i + 1) + " must be an integer constant");
          return;
        }
        consts.push_back(*v);
      }
      if (fn->fn == AggFn::lquantize) {
        params.lo = consts[0];
        params.hi = consts[1];
        params.step = consts.size() > 2 ? consts[2] : 1;
      } else {
        params.factor = consts[0];
        params.low = consts[1];
        params.high = consts[2];
        params.steps = consts[3];
      }
      if (report_) {
        if (auto issue = check_params(func, params)) {
          error(issue->id.c_str(), call.loc, issue->message);
          return;
        }
      }
    }
    for (int i = first_incr; i < n; ++i) {
      const Type& t = call.kids[static_cast<size_t>(i)]->type;
      if (!t.is_none() && !t.is_scalar()) {
        error("D_PROTO_ARG", call.kids[static_cast<size_t>(i)]->loc,
              quoted_fn(call.text) + " increment (argument #" + std::to_string(i + 1) +
                  ") must be of scalar type, not " + t.name());
        return;
      }
    }
    std::vector<Type> keys;
    for (size_t i = 1; i < e.kids.size(); ++i) {
      const Type& t = e.kids[i]->type;
      if (e.kids[i]->kind == ExprKind::agg_ref) {
        error("D_KEY_TYPE", e.kids[i]->loc, "an aggregation cannot be used as a key");
        return;
      }
      if (t.is_none()) {
        if (report_) error("D_KEY_TYPE", e.kids[i]->loc, "key #" + std::to_string(i) + " of '@" + e.text + "' has no value");
        return;
      }
      if (t.object) {
        error("D_KEY_TYPE", e.kids[i]->loc,
              "key #" + std::to_string(i) + " of '@" + e.text + "' is a " + type_name(t) +
                  ": an aggregation is keyed by scalars and strings; use its members");
        return;
      }
      keys.push_back(t);
    }
    if (!tuple_fits(e, keys.size(), "'@" + e.text + "'")) return;
    AggDecl* a = syms_->find_agg(e.text);
    if (!a) {
      AggDecl d;
      d.name = e.text;
      d.func = func;
      d.params = params;
      d.keys = keys;
      d.slot = static_cast<int>(syms_->aggs.size());
      d.loc = e.loc;
      d.declared = true;
      syms_->aggs.push_back(d);
      a = &syms_->aggs.back();
    } else {
      bool same_params = a->params.lo == params.lo && a->params.hi == params.hi &&
                         a->params.step == params.step && a->params.factor == params.factor &&
                         a->params.low == params.low && a->params.high == params.high &&
                         a->params.steps == params.steps;
      if (a->func == func && !same_params) {
        // dt_cg's tag names the first parameter that differs.
        const char* id = "D_AGG_REDEF";
        std::string what;
        if (func == AggFunc::lquantize) {
          id = a->params.lo != params.lo                         ? (what = "lower bound", "D_LQUANT_MATCHBASE")
               : lquantize_span(a->params) != lquantize_span(params) ? (what = "upper bound", "D_LQUANT_MATCHLIM")
                   : (what = "step", "D_LQUANT_MATCHSTEP");
        } else if (func == AggFunc::llquantize) {
          id = a->params.factor != params.factor ? (what = "factor", "D_LLQUANT_MATCHFACTOR")
               : a->params.low != params.low     ? (what = "low magnitude", "D_LLQUANT_MATCHLMAG")
               : a->params.high != params.high   ? (what = "high magnitude", "D_LLQUANT_MATCHHMAG")
                                                 : (what = "steps", "D_LLQUANT_MATCHSTEPS");
        }
        if (!what.empty()) {
          error(id, call.loc,
                "'@" + e.text + "' is already an aggregation of " + to_string(func) + "() with another " + what +
                    "; use the same parameters everywhere or another name");
          return;
        }
      }
      if (a->func != func || !same_params) {
        error("D_AGG_REDEF", call.loc,
              "'@" + e.text + "' is already an aggregation of " + to_string(a->func) + "()" +
                  (a->func == func ? " with other parameters" : "") + "; use another name for this " +
                  call.text + "()");
        return;
      }
      if (a->keys.size() != keys.size()) {
        error("D_PROTO_LEN", e.loc,
              "'@" + e.text + "' has " + std::to_string(a->keys.size()) + " key(s) elsewhere but " +
                  std::to_string(keys.size()) + " here; use the same keys everywhere");
        return;
      }
      for (size_t i = 0; i < keys.size(); ++i) {
        if (!compatible(a->keys[i], keys[i])) {
          error("D_PROTO_ARG", e.kids[i + 1]->loc,
                "key #" + std::to_string(i + 1) + " of '@" + e.text + "' is " + keys[i].name() +
                    " here but " + a->keys[i].name() + " elsewhere");
          return;
        }
      }
    }
    e.slot = a->slot;
    e.type = Type::none();
  }

  // dtrace's functions over kernel objects that probekit does not have
  // (dt_open.c's prototypes): their arguments are judged as dtrace judges
  // them (D_PROTO_LEN, D_PROTO_ARG), then the function is refused. True
  // when `e` calls one (an error was reported).
  bool kernel_only_call(Expr& e) {
    struct KernelFn {
      const char* name;
      int args;         // exactly
      bool int_second;  // pcap(void *, int)
      const char* what;
    };
    static const KernelFn table[] = {
        {"mutex_owned", 1, false, "reads a kernel mutex"},
        {"mutex_owner", 1, false, "reads a kernel mutex"},
        {"mutex_type_adaptive", 1, false, "reads a kernel mutex"},
        {"mutex_type_spin", 1, false, "reads a kernel mutex"},
        {"rw_read_held", 1, false, "reads a kernel reader-writer lock"},
        {"rw_write_held", 1, false, "reads a kernel reader-writer lock"},
        {"rw_iswriter", 1, false, "reads a kernel reader-writer lock"},
        {"pcap", 2, true, "captures a kernel network packet (an sk_buff)"},
    };
    const KernelFn* k = nullptr;
    for (const auto& f : table)
      if (e.text == f.name) k = &f;
    if (!k) return false;
    const int n = static_cast<int>(e.kids.size());
    if (n != k->args) {
      error("D_PROTO_LEN", e.loc, arg_count_message(e.text, k->args, k->args, n));
      return true;
    }
    for (int i = 0; i < n; ++i) {
      const Type& t = e.kids[i]->type;
      if (t.is_none()) return true;
      // A pointer parameter takes a pointer or an integer (0); an int one an integer.
      const bool ok = (i == 1 && k->int_second) ? t.is_integer() : t.is_scalar() && !t.is_string();
      if (!ok) {
        error("D_PROTO_ARG", e.kids[i]->loc,
              quoted_fn(e.text) + " argument #" + std::to_string(i + 1) + " must be " +
                  ((i == 1 && k->int_second) ? "an integer" : "a pointer") + ", not " + t.name());
        return true;
      }
    }
    error("D_VAR_UNSUP", e.loc,
          quoted_fn(e.text) + " " + k->what + " and probekit traces user space only");
    return true;
  }

  void visit_call(Expr& e) {
    bool top = statement_top_;
    statement_top_ = false;
    const FnInfo* fn = find_function(e.text);
    if (!fn) {
      visit_kids(e, 0);
      if (find_agg_function(e.text)) {
        // clear(count()) and the like: the caller reports its argument
        // is not an aggregation. A statement of its own is dtrace's
        // D_CG_EXPR (code generation meets an aggregating function).
        if (agg_arg_tag(parent_) && parent_->kids[0].get() == &e) return;
        error(top ? "D_CG_EXPR" : "D_AGG_FUNC", e.loc,
              quoted_fn(e.text) + " is an aggregating function: use it as '@name = " + e.text + "(...)'");
        return;
      }
      if (kernel_only_call(e)) return;
      auto near = closest_matches(e.text, function_names());
      error("D_FUNC_UNDEF", e.loc,
            "unknown function " + quoted_fn(e.text) +
                (near.empty() ? std::string() : "; did you mean " + quoted_fn(near[0]) + "?"));
      return;
    }
    e.id = static_cast<int>(fn->fn);
    visit_kids(e, 0);
    int n = static_cast<int>(e.kids.size());
    if (n < fn->min_args || (fn->max_args >= 0 && n > fn->max_args)) {
      error("D_PROTO_LEN", e.loc, arg_count_message(e.text, fn->min_args, fn->max_args, n));
      return;
    }
    if (fn->is_action && !top) {
      error(action_value_tag(e), e.loc, quoted_fn(e.text) + " is an action and has no value; call it as a statement");
      return;
    }
    check_call(e, *fn, top);
  }

  // The range lquantize()'s buckets cover (DTrace compares levels * step).
  static int64_t lquantize_span(const AggParams& p) {
    return p.step > 0 ? (p.hi - p.lo) / p.step * p.step : p.hi - p.lo;
  }

  void visit_unary(Expr& e) {
    visit_kids(e, 0);
    if (e.op == Op::addr && e.kids[0]->kind == ExprKind::agg_ref) {
      error("D_ADDROF_VAR", e.loc, "cannot take the address of aggregation '@" + e.kids[0]->text + "'");
      return;
    }
    const Type& t = e.kids[0]->type;
    if (t.is_none()) return;
    switch (e.op) {
    case Op::neg:
    case Op::plus:
    case Op::bnot:
      if (!t.is_scalar()) {
        error(e.op == Op::bnot ? "D_OP_INT" : "D_OP_ARITH", e.loc,
              std::string("operator '") + to_string(e.op) + "' needs an integer operand, not " + t.name());
        return;
      }
      e.type = common_type(t, Type::integer(4, true));
      return;
    case Op::lnot:
      if (!t.is_scalar()) {
        error("D_OP_SCALAR", e.loc, "operator '!' needs an integer or pointer operand, not " + t.name());
        return;
      }
      e.type = Type::integer(4, true);
      return;
    case Op::deref:
      if (!local_array_bounds(e)) return;
      if (is_string_index(e)) {
        if (!char_array_bounds(e)) return;
        // s[i]: a char, as DTrace reads it from the string's buffer.
        e.type = Type::integer(1, true);
        return;
      }
      if (t.kind != Type::Kind::pointer || t.object) {
        error("D_DEREF_NONPTR", e.loc, "cannot dereference " + type_name(t) + ": cast it to a pointer type first, e.g. *(int *)arg0");
        return;
      }
      if (t.tag > 0 && t.tag <= ctx_->ast.structs.size()) {
        // *p of a struct pointer: the struct at p, a value that `.` reads
        // and a struct variable can be assigned.
        if (!ctx_->ast.structs[t.tag - 1u].complete) {
          error("D_OP_INCOMPLETE", e.loc,
                "operator * cannot be applied to a forward declaration: no " + ctx_->ast.structs[t.tag - 1u].name +
                    " definition is available");
          return;
        }
        e.type = Type::aggregate(t.tag);
        return;
      }
      if (t.pointee_string) {  // *p of a string *: the string at p
        e.type = Type::string();
        return;
      }
      if (t.pointee_size == 0) {
        error("D_DEREF_VOID", e.loc, "cannot dereference 'void *': cast it to a typed pointer first, e.g. *(int *)p");
        return;
      }
      e.type = Type::integer(t.pointee_size, t.pointee_signed);
      return;
    case Op::addr: {
      if (e.kids[0]->kind == ExprKind::unary && e.kids[0]->op == Op::deref && !is_string_index(*e.kids[0]) &&
          e.kids[0]->kids[0]->type.kind == Type::Kind::pointer) {
        // &*p and &p[i]: the pointer itself, as in C (&s[14] of alloca() memory).
        ExprPtr p = std::move(e.kids[0]->kids[0]);
        e = std::move(*p);
        return;
      }
      // dt_node_op1()'s order: a D variable, then anything that is not an
      // lvalue, then a bit-field.
      const Expr& k = *e.kids[0];
      if (k.kind == ExprKind::index && k.id == static_cast<int>(IndexKind::array) && k.slot >= 0 &&
          static_cast<size_t>(k.slot) < syms_->globals.size() && in_memory(syms_->globals[static_cast<size_t>(k.slot)])) {
        // &a[i] of a declared array: the element's address in D memory.
        e.type = element_pointer(k.type);
        return;
      }
      const bool variable = k.kind == ExprKind::ident || k.kind == ExprKind::self_var ||
                            k.kind == ExprKind::this_var || k.kind == ExprKind::index ||
                            k.kind == ExprKind::agg_ref;
      const bool lvalue = k.kind == ExprKind::member || (k.kind == ExprKind::unary && k.op == Op::deref);
      if (k.kind == ExprKind::ident && k.id == kArrayDecay)
        error("D_ADDROF_VAR", e.loc, "cannot take the address of array '" + k.text + "': take an element's, e.g. &" + k.text + "[0], or use '" + k.text + "' itself");
      else if (variable) error("D_ADDROF_VAR", e.loc, "cannot take the address of a D variable");
      else if (!lvalue)
        error("D_ADDROF_LVAL", e.loc, "operator & needs an lvalue operand (a member or '*p'), not an expression");
      else if (k.kind == ExprKind::member && k.id == kMemberBitField)
        error("D_ADDROF_BITFIELD", e.loc, "cannot take the address of bit-field '" + k.text + "'");
      else error("D_ADDROF_VAR", e.loc, "cannot take the address of a D expression");
      return;
    }
    default: return;
    }
  }

  void visit_binary(Expr& e) {
    visit_kids(e, 0);
    if (e.op == Op::add || e.op == Op::sub) e.alloca = e.kids[0]->alloca || e.kids[1]->alloca;
    for (const auto& k : e.kids)
      if (k->kind == ExprKind::agg_ref && k->slot >= 0 && syms_->find_agg(k->text)) {
        // dt_cook_op2: an aggregation has no value an operator can use.
        error("D_OP_INCOMPAT", k->loc,
              "operator '" + std::string(to_string(e.op)) + "' cannot take aggregation '@" + k->text +
                  "': an aggregation has no value in an expression; print it with printa(@" + k->text + ")");
        return;
      }
    const Type& a = e.kids[0]->type;
    const Type& b = e.kids[1]->type;
    if (a.is_none() || b.is_none()) return;
    if (e.op == Op::add && e.is_postfix && e.kids[0]->id == kArrayDecay &&
        (e.kids[0]->kind == ExprKind::this_var || e.kids[0]->kind == ExprKind::self_var)) {
      // this->a[i]: element i of a declared local array (the compiler's
      // ElemAddr steps by the element, a struct's size too).
      if (!b.is_integer()) {
        error("D_ARR_BADREF", e.kids[1]->loc, "the index of an array must be an integer, not " + type_name(b));
        return;
      }
      e.type = a;
      return;
    }
    std::string opname = std::string("'") + to_string(e.op) + "'";
    switch (e.op) {
    case Op::eq:
    case Op::ne:
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge:
      if (a.is_scalar() && b.is_scalar()) {
        e.type = Type::integer(4, true);
        e.cast_type = common_type(a, b);
        return;
      }
      if ((a.is_string() && (b.is_string() || string_from_pointer(e.kids[1]))) ||
          (b.is_string() && string_from_pointer(e.kids[0]))) {
        e.type = Type::integer(4, true);
        e.cast_type = Type::string();
        return;
      }
      if (a.is_floating() && a == b) {
        // DTrace compares floating values of the same type (ctf_type_compat).
        e.type = Type::integer(4, true);
        e.cast_type = a;
        return;
      }
      if ((a.kind == Type::Kind::symbol || a.kind == Type::Kind::stack) && a.kind == b.kind &&
          (e.op == Op::eq || e.op == Op::ne)) {
        e.type = Type::integer(4, true);
        e.cast_type = a;
        return;
      }
      error("D_OP_INCOMPAT", e.loc,
            "operands of " + opname + " have incompatible types: " + a.name() + " and " + b.name());
      return;
    case Op::land:
    case Op::lor:
    case Op::lxor:
      if (!a.is_scalar() || !b.is_scalar()) {
        error("D_OP_SCALAR", e.loc,
              "operator " + opname + " needs integer or pointer operands, not " + (a.is_scalar() ? b : a).name());
        return;
      }
      e.type = Type::integer(4, true);
      return;
    case Op::add:
    case Op::sub:
    case Op::mul:
    case Op::div:
      if (e.op == Op::add && e.is_postfix && a.is_string() && b.is_integer()) {
        // s[i] (the parser's *(s + i)): the deref reads char i of the string
        // (a char array member's bound: char_array_bounds).
        e.type = a;
        return;
      }
      if ((e.op == Op::add || e.op == Op::sub) &&
          ((a.is_string() && b.is_integer()) || (e.op == Op::add && a.is_integer() && b.is_string()))) {
        // dt_cook_op2 lets a string be a pointer to its characters here:
        // s + n (n + s, s - n) is the string from its character n on
        // (dtrace-utils' codegen/tst.str_store_var).
        e.type = Type::string();
        return;
      }
      if ((e.op == Op::add || e.op == Op::sub) && (a.is_string() || b.is_string()) &&
          (a.is_string() || a.is_scalar()) && (b.is_string() || b.is_scalar())) {
        // Two "pointers" added, a pointer minus a string, a string minus
        // a pointer: the operand types dt_cook_op2 refuses (D_OP_INCOMPAT).
        error("D_OP_INCOMPAT", e.loc,
              "operands of " + opname + " have incompatible types: " + a.name() + " and " + b.name() +
                  (a.is_string() && b.is_string() && e.op == Op::add ? "; join strings with strjoin()" : ""));
        return;
      }
      if (!a.is_scalar() || !b.is_scalar()) {
        error("D_OP_ARITH", e.loc,
              "operator " + opname + " needs arithmetic operands, not " + (a.is_scalar() ? b : a).name() +
                  (a.is_string() && b.is_string() && e.op == Op::add ? "; join strings with strjoin()" : ""));
        return;
      }
      if (e.op == Op::div) {
        auto v = const_int(*e.kids[1]);
        if (v && *v == 0) {
          error("D_DIV_ZERO", e.kids[1]->loc, "division by zero");
          return;
        }
      }
      if ((e.op == Op::add || e.op == Op::sub) &&
          ((a.kind == Type::Kind::pointer && a.name() == "void *" && b.is_integer()) ||
           (e.op == Op::add && b.kind == Type::Kind::pointer && b.name() == "void *" && a.is_integer()))) {
        // dtrace: a void * has no size to step by (D_OP_INCOMPAT).
        error("D_OP_INCOMPAT", e.loc,
              "operator " + opname + " cannot step a 'void *': cast it to a typed pointer first, e.g. (char *)p");
        return;
      }
      if ((e.op == Op::add || e.op == Op::sub) && a.kind == Type::Kind::pointer && b.is_integer()) {
        e.type = a;  // pointer arithmetic keeps the pointer type (scaled)
        return;
      }
      if (e.op == Op::add && b.kind == Type::Kind::pointer && a.is_integer()) {
        e.type = b;
        return;
      }
      if (e.op == Op::sub && a.kind == Type::Kind::pointer && b.kind == Type::Kind::pointer) {
        e.type = Type::integer(8, true);  // C: the distance in elements
        e.cast_type = a;
        return;
      }
      e.type = common_type(a, b);
      return;
    case Op::mod:
    case Op::band:
    case Op::bor:
    case Op::bxor:
    case Op::shl:
    case Op::shr:
      if (!a.is_scalar() || !b.is_scalar()) {
        error("D_OP_INT", e.loc, "operator " + opname + " needs integer operands, not " + (a.is_scalar() ? b : a).name());
        return;
      }
      if (e.op == Op::mod) {
        auto v = const_int(*e.kids[1]);
        if (v && *v == 0) {
          error("D_DIV_ZERO", e.kids[1]->loc, "modulo by zero");
          return;
        }
      }
      e.type = (e.op == Op::shl || e.op == Op::shr) ? common_type(a, Type::integer(4, true)) : common_type(a, b);
      return;
    default: return;
    }
  }

  void visit_ternary(Expr& e) {
    visit_kids(e, 0);
    // dt_cook_ternary: one branch from alloca() and one not cannot be
    // assigned to a variable (visit_assign's D_ALLOCA_INCOMPAT).
    e.alloca = e.kids[1]->alloca;
    e.nonassign = e.kids[1]->alloca != e.kids[2]->alloca || e.kids[1]->nonassign || e.kids[2]->nonassign;
    const Type& c = e.kids[0]->type;
    const Type& a = e.kids[1]->type;
    const Type& b = e.kids[2]->type;
    if (c.is_none() || a.is_none() || b.is_none()) return;
    if (!c.is_scalar()) {
      error("D_OP_SCALAR", e.kids[0]->loc, "the condition of '?:' must be an integer or pointer, not " + c.name());
      return;
    }
    if (a.is_scalar() && b.is_scalar()) {
      e.type = common_type(a, b);
      if (a.kind == Type::Kind::pointer && a == b) e.type = a;
      return;
    }
    if (a.kind == b.kind || (a.is_string() && string_from_pointer(e.kids[2])) ||
        (b.is_string() && string_from_pointer(e.kids[1]))) {
      e.type = a.kind == b.kind ? a : Type::string();
      return;
    }
    error("D_OP_INCOMPAT", e.loc, "the branches of '?:' have incompatible types: " + a.name() + " and " + b.name());
  }

  void visit_assign(Expr& e) {
    statement_top_ = false;
    if (report_ && e.op != Op::none && e.kids[0]->kind == ExprKind::ident) {
      // x op= v reads x, which dt_cook_op2 cooks before v: a global not
      // assigned yet is D_VAR_UNDEF, whatever v is.
      const Expr& lhs = *e.kids[0];
      const VarDecl* g = syms_->find(syms_->globals, lhs.text);
      if (!find_var(lhs.text) && !find_inline(lhs.text) && !find_register(lhs.text) && !find_constant(lhs.text) &&
          lhs.text != "NULL" && (!g || (!g->declared && !g->is_array && !defined_globals_.count(lhs.text)))) {
        error("D_VAR_UNDEF", lhs.loc,
              "'" + lhs.text + "' has not yet been assigned: '" + to_string(e.op) + "=' reads it; assign it first, e.g. " +
                  lhs.text + " = 0");
        return;
      }
    }
    {
      const Expr* outer = parent_;
      parent_ = &e;
      visit(*e.kids[1]);
      parent_ = outer;
    }
    const Type rhs = e.kids[1]->type;
    Expr& lhs = *e.kids[0];
    if (e.kids[1]->kind == ExprKind::agg_ref) {
      error("D_OP_INCOMPAT", e.kids[1]->loc, "an aggregation cannot be assigned to a variable");
      return;
    }
    if (rhs.is_none()) {
      // Either an error already reported or a type not known yet.
      visit_lvalue(lhs, Type::none(), e.op != Op::none);
      return;
    }
    if (e.op != Op::none && !rhs.is_scalar()) {
      // dtrace checks the operands' types agree first: D_OP_INCOMPAT.
      error("D_OP_INCOMPAT", e.loc, std::string("operator '") + to_string(e.op) + "=' needs an integer value, not " + rhs.name());
      return;
    }
    Type var = visit_lvalue(lhs, rhs, e.op != Op::none);
    if (var.is_none()) return;
    // += and -= with a pointer operand: dt_cook_op2 wants the left one to
    // be a pointer to an object of known size (D_OP_VFPTR), so an integer
    // variable cannot take a pointer's offset (p -= alloca(10)).
    if ((e.op == Op::add || e.op == Op::sub) && !var.is_floating() && !rhs.is_floating() && !var.object &&
        !rhs.object && (!var.is_integer() || !rhs.is_integer()) &&
        (var.kind != Type::Kind::pointer || var.pointee_size == 0)) {
      error("D_OP_VFPTR", e.loc,
            std::string("operator '") + to_string(e.op) + "=' needs a left operand that is an integer or a pointer " +
                "to a type of known size, not " + type_name(var) + " with " + type_name(rhs));
      return;
    }
    // s = NULL: a string variable takes NULL, 0 or a pointer as a string.
    if (e.op == Op::none && var.is_string() && string_from_pointer(e.kids[1])) {
      e.type = var;
      return;
    }
    // char *p = "..." (a string, probeprov): dt_node_is_argcompat takes a
    // string for a char * (both are dt_node_is_strcompat); p is the
    // address of the string's characters.
    if (e.op == Op::none && var.kind == Type::Kind::pointer && !var.object && var.pointee_size == 1 &&
        var.pointee_signed && rhs.is_string()) {
      auto c = std::make_unique<Expr>(ExprKind::cast, e.kids[1]->loc);
      c->cast_type = var;
      c->type = var;
      c->is_postfix = true;  // sema's own: visit_cast lets it be
      c->kids.push_back(std::move(e.kids[1]));
      e.kids[1] = std::move(c);
      e.type = var;
      return;
    }
    // dt_node_is_argcompat(): an integer and a pointer are not compatible,
    // except the constant 0 as a pointer (x = curthread; x = pid is
    // refused).
    const bool zero = e.kids[1]->kind == ExprKind::integer && e.kids[1]->ival == 0;
    // Storing 0 to a struct or union that is a dynamic variable (self->,
    // an associative array's element) deletes it, as dtrace-utils'
    // dt_cg_store_var does for any dynamic variable.
    const bool dynamic = lhs.kind == ExprKind::self_var ||
                         (lhs.kind == ExprKind::index && lhs.id == static_cast<int>(IndexKind::array));
    if (e.op == Op::none && var.object && zero && dynamic) {
      e.type = var;
      return;
    }
    const bool pointer_mix = e.op == Op::none && !var.object && !rhs.object &&
                             ((var.kind == Type::Kind::pointer && rhs.kind == Type::Kind::integer && !zero) ||
                              (var.kind == Type::Kind::integer && rhs.kind == Type::Kind::pointer));
    if (pointer_mix || !compatible(var, rhs)) {
      error("D_OP_INCOMPAT", e.loc,
            "cannot assign " + type_name(rhs) + " to " + describe_lvalue(lhs) + " of type " + type_name(var) +
                (var.object || rhs.object ? ": a struct or union takes only a value of its own type" : ""));
      return;
    }
    if (e.op != Op::none && !var.is_scalar()) {
      error("D_OP_ARITH", e.loc, std::string("operator '") + to_string(e.op) + "=' needs an integer variable, not " + var.name());
      return;
    }
    const bool variable = lhs.kind == ExprKind::ident || lhs.kind == ExprKind::self_var ||
                          lhs.kind == ExprKind::this_var || lhs.kind == ExprKind::index;
    if (variable && e.kids[1]->nonassign) {
      error("D_ALLOCA_INCOMPAT", e.kids[1]->loc,
            "a '?:' with one branch from alloca() and one not cannot be assigned to " + describe_lvalue(lhs) +
                ": make both branches alloca() pointers, or neither");
      return;
    }
    if (variable && e.kids[1]->alloca) {
      // The variable now holds an alloca() pointer (dt_cook_taint_alloca).
      std::vector<VarDecl>* table = lhs.kind == ExprKind::self_var   ? &syms_->thread_vars
                                    : lhs.kind == ExprKind::this_var ? &syms_->clause_vars
                                    : lhs.kind == ExprKind::ident    ? &syms_->globals
                                                                     : nullptr;
      if (table)
        if (VarDecl* v = syms_->find(*table, lhs.text)) v->alloca = true;
    }
    e.type = var;
  }

  // A constant size given to alloca() or copyin() (`fn`) is checked
  // against scratchsize here, as dt_cg_subr_alloca_impl does: D_ALLOCA_SIZE.
  // stack()/ustack()'s frame count, when given, is a positive constant
  // (dt_cg_stack_arg); else `tag` and false.
  bool frame_count(const Expr& e, const char* tag) {
    if (e.kids.empty()) return true;
    auto n = const_int(*e.kids[0]);
    if (n && *n > 0) return true;
    error(tag, e.kids[0]->loc,
          quoted_fn(e.text) + " argument #1 must be a non-zero positive integer constant (a number of frames)");
    return false;
  }

  void check_alloca_size(const Expr& size, const char* fn) {
    auto n = const_int(size);
    if (!n) return;
    if (*n < 0) {
      error("D_ALLOCA_SIZE", size.loc, "'" + std::string(fn) + "()' size must not be negative");
      return;
    }
    const auto limit = scratch_limit();
    if (limit && static_cast<uint64_t>(*n) > *limit)
      error("D_ALLOCA_SIZE", size.loc,
            std::string(fn) + "(" + (std::string(fn) == "copyin" ? "..., " : "") + std::to_string(*n) +
                ") size larger than scratchsize " + std::to_string(*limit) +
                ": allocate less, or raise it (-x scratchsize=SIZE)");
  }

  void visit_incdec(Expr& e) {
    statement_top_ = false;
    // An existing variable keeps its type; `n++` on a new one declares int64_t.
    Expr& lv = *e.kids[0];
    Type var = visit_lvalue(lv, Type::none(), true);
    if (var.is_none()) {
      VarDecl* fresh = nullptr;
      if (lv.kind == ExprKind::ident) fresh = syms_->find(syms_->globals, lv.text);
      if (lv.kind == ExprKind::self_var) fresh = syms_->find(syms_->thread_vars, lv.text);
      if (lv.kind == ExprKind::this_var) fresh = syms_->find(syms_->clause_vars, lv.text);
      // a[k]++ on a new array declares its values int64_t too, as dtrace's
      // ++ gives any undefined variable that type.
      const bool array = lv.kind == ExprKind::index && lv.id == static_cast<int>(IndexKind::array);
      if (array) fresh = syms_->find(syms_->globals, lv.text);
      if (fresh && fresh->type.is_none() && fresh->is_array == array)
        var = visit_lvalue(lv, Type::integer(8, true), true);
    }
    if (var.is_none()) return;
    if (!var.is_scalar()) {
      // dt_node_op1: ++ and -- need a scalar (D_OP_SCALAR).
      error("D_OP_SCALAR", e.loc, std::string("operator '") + to_string(e.op) + "' needs an integer variable, not " + var.name());
      return;
    }
    e.type = var;
  }

  void visit_cast(Expr& e) {
    if (!e.kids.empty() && e.kids[0]->kind == ExprKind::xlate) {
      error("D_CAST_INVAL", e.loc, "invalid cast expression: \"pointer to translated data\" to \"" + e.cast_type.name() + "\"");
      return;
    }
    visit_kids(e, 0);
    e.alloca = e.kids[0]->alloca;  // a cast keeps it (dt_cook_op1)
    e.nonassign = e.kids[0]->nonassign;
    const Type& t = e.kids[0]->type;
    if (t.is_none()) return;
    if (e.cast_type.is_none()) {
      e.type = Type::none();
      error("D_CAST_INVAL", e.loc, "cannot cast to void");
      return;
    }
    if (e.cast_type.is_scalar() && t.is_scalar()) {
      e.type = e.cast_type;
      return;
    }
    if (e.cast_type.object && t.object && e.cast_type.tag == t.tag) {
      // (struct s)v of a struct s value: the value itself.
      ExprPtr k = std::move(e.kids[0]);
      e = std::move(*k);
      return;
    }
    if (e.cast_type.object) {
      error("D_CAST_INVAL", e.loc, "cannot cast to a struct or union: cast to a pointer to it");
      return;
    }
    if (e.cast_type.is_string() && t.is_string()) {
      e.type = e.cast_type;
      return;
    }
    if (e.cast_type.is_floating() && e.cast_type == t) {  // DTrace casts a float only to its own type
      e.type = e.cast_type;
      return;
    }
    if (e.cast_type.is_string() && t.kind == Type::Kind::pointer && !t.object) {
      // (string)p is the string at p, as stringof(p) (dtrace-utils'
      // tst.bcopy-into-alloca.d: trace((string)alloca'd)).
      e.kind = ExprKind::stringof;
      e.type = Type::string();
      return;
    }
    if (e.cast_type.kind == Type::Kind::pointer && !e.cast_type.object && t.is_string() &&
        (is_char_array(*e.kids[0]) || e.is_postfix)) {
      // curpsinfo->pr_fname and the like are char arrays in DTrace (which
      // probekit holds as strings): an array casts to a pointer
      // (dtrace-utils' arrays/tst.ctf-bounds.oob-cast).
      e.type = e.cast_type;
      return;
    }
    error("D_CAST_INVAL", e.loc, "cannot cast " + t.name() + " to " + e.cast_type.name() +
                                     (t.is_scalar() && e.cast_type.is_string() ? "; use stringof() or lltostr()" : ""));
  }

  void visit_sizeof_type(Expr& e) {
    e.type = Type::integer(8, false);
    if (e.cast_type.is_none()) {
      error("D_SIZEOF_TYPE", e.loc, "cannot apply sizeof to void");
      return;
    }
    e.ival = e.cast_type.is_string() ? strsize() : e.cast_type.size;
  }

  void visit_sizeof_expr(Expr& e) {
    visit_kids(e, 0);
    e.type = Type::integer(8, false);
    const Type& t = e.kids[0]->type;
    if (t.is_none()) return;
    if (e.kids[0]->kind == ExprKind::member && e.kids[0]->id == kMemberBitField) {
      error("D_SIZEOF_BITFIELD", e.loc, "cannot apply sizeof to bit-field '" + e.kids[0]->text + "'");
      return;
    }
    if (t.object) {  // a struct or union value: its type's size
      e.ival = t.tag <= ctx_->ast.structs.size() ? ctx_->ast.structs[t.tag - 1u].size : 0;
      return;
    }
    if (e.kids[0]->kind == ExprKind::integer && e.kids[0]->text == "NULL") {  // dtrace's NULL is the int 0
      e.ival = 4;
      return;
    }
    if (e.kids[0]->id == kArrayDecay &&
        (e.kids[0]->kind == ExprKind::ident || e.kids[0]->kind == ExprKind::this_var ||
         e.kids[0]->kind == ExprKind::self_var)) {  // sizeof a: all its elements
      e.ival = e.kids[0]->ival * element_size(e.kids[0]->cast_type);
      return;
    }
    if (!t.is_scalar() && !t.is_string() && !t.is_floating()) {  // float, double, long double: their bytes
      error("D_SIZEOF_TYPE", e.loc, "cannot apply sizeof to " + t.name());
      return;
    }
    // A string constant is its bytes and the NUL (sizeof "hi" is 3, as in
    // C and DTrace); other strings take strsize.
    if (e.kids[0]->kind == ExprKind::string) e.ival = e.kids[0]->text.size() + 1;
    else e.ival = t.is_string() ? strsize() : t.size;
  }

  void visit_stringof(Expr& e) {
    visit_kids(e, 0);
    const Type& t = e.kids[0]->type;
    if (t.is_none()) return;
    if (t.is_string() || t.kind == Type::Kind::pointer || t.kind == Type::Kind::symbol || e.ival == 1) {
      e.type = Type::string();
      return;
    }
    // args[N] has the C type of the probed function's parameter, known only
    // per probe (from DWARF, at registration): a `char *` is a pointer here,
    // as DTrace allows stringof() on any scalar.
    const Expr& k = *e.kids[0];
    if (k.kind == ExprKind::index && k.id == static_cast<int>(IndexKind::args)) {
      e.type = Type::string();
      return;
    }
    error("D_STRINGOF_TYPE", e.loc,
          "stringof() needs a string or a pointer, not " + t.name() + "; use lltostr() to format an integer");
  }

private:
  void error(const char* id, Loc loc, std::string message) {
    if (report_) ctx_->diags.error(id, loc, std::move(message));
  }

  const InlineDecl* find_inline(const std::string& name) const {
    for (size_t i = 0; i < visible_inlines_ && i < syms_->inlines.size(); ++i)
      if (syms_->inlines[i].name == name) return &syms_->inlines[i];
    return nullptr;
  }

  static std::string describe(const VarDecl& v) {
    if (!v.is_array) return "scalar " + v.type.name();
    std::vector<std::string> keys;
    for (const auto& k : v.keys) keys.push_back(k.name());
    return v.dim ? "array " + v.type.name() + "[" + std::to_string(v.dim) + "]"
                 : "associative array " + v.type.name() + "[" + join(keys, ", ") + "]";
  }

  // "MAJOR.MINOR[.MICRO]" as one number that orders versions (dtrace's
  // DT_VERSION_NUMBER); 0 when it is not one.
  static uint32_t version_number(const std::string& text) {
    auto v = version_parts(text);
    return v ? static_cast<uint32_t>((*v)[0] << 24 | (*v)[1] << 12 | (*v)[2]) : 0;
  }

  // A built-in that the D version the program asks for (-x version,
  // #pragma D option version) does not have yet: dtrace binds each one to
  // the version that introduced it (dt_open.c's _dtrace_globals, those
  // after 1.0), and an older program may use the name for its own.
  bool introduced_later(const std::string& name) const {
    static const std::map<std::string, std::string> since = {
        {"freopen", "1.1"}, {"index", "1.1"},   {"rindex", "1.1"},   {"strchr", "1.1"},    {"strrchr", "1.1"},
        {"strstr", "1.1"},  {"strtok", "1.1"},  {"substr", "1.1"},   {"func", "1.2"},      {"mod", "1.2"},
        {"setopt", "1.2"},  {"sym", "1.2"},     {"uaddr", "1.2"},    {"ucaller", "1.2"},   {"ufunc", "1.2"},
        {"umod", "1.2"},    {"usym", "1.2"},    {"ustackdepth", "1.2"}, {"htonl", "1.3"},  {"htonll", "1.3"},
        {"htons", "1.3"},   {"ntohl", "1.3"},   {"ntohll", "1.3"},   {"ntohs", "1.3"},     {"inet_ntoa", "1.5"},
        {"inet_ntoa6", "1.5"}, {"inet_ntop", "1.5"}, {"link_ntop", "1.5"}, {"stddev", "1.6"},
        {"llquantize", "1.6.4"}, {"pcap", "1.6.4"}, {"print", "2.0"},
    };
    auto it = since.find(name);
    auto asked = syms_->options.find("version");
    if (it == since.end() || asked == syms_->options.end()) return false;
    const uint32_t want = version_number(asked->second);
    return want != 0 && want < version_number(it->second);
  }

  // One declaration (dt_node_decl): the variable gets its type now; a
  // second declaration must say the same.
  void declare(Decl& d) {
    if (d.cls != Decl::Class::self && d.cls != Decl::Class::this_ && !introduced_later(d.name) &&
        (find_var(d.name) || find_function(d.name) || find_register(d.name) || find_constant(d.name))) {
      error("D_DECL_IDRED", d.loc, "built-in identifier redeclared: " + d.name);
      return;
    }
    if (d.cls == Decl::Class::inline_) {
      bool taken = syms_->find(syms_->globals, d.name) != nullptr;
      for (const auto& in : syms_->inlines) taken = taken || in.name == d.name;
      if (taken) {
        error("D_DECL_IDRED", d.loc, "identifier redeclared: " + d.name + " (already declared before this inline)");
        return;
      }
      syms_->inlines.push_back(InlineDecl{d.name, d.type, d.init.get(), d.loc, d.keys, d.params});
      return;
    }
    VarDecl v;
    v.name = d.name;
    v.type = d.type;
    v.declared = true;
    v.is_array = d.is_array;
    v.keys = d.keys;
    v.loc = d.loc;
    if (d.dim) {
      visible_inlines_ = syms_->inlines.size();
      statement_top_ = false;
      visit(*d.dim);
      int64_t n = 0;
      if (d.dim->type.is_scalar()) n = const_int(*d.dim).value_or(0);
      if (n <= 0 || n > (1 << 24)) {
        error(n > 0 ? "D_DECL_ARRBIG" : "D_DECL_ARRSUB", d.dim->loc,
              "the dimension of array '" + d.name + "' must be a positive integer constant" +
                  (n > 0 ? " of at most 16777216" : ""));
        return;
      }
      v.dim = n;
      v.keys = {Type::integer(8, true)};
    }
    std::vector<VarDecl>& table = d.cls == Decl::Class::self    ? syms_->thread_vars
                                  : d.cls == Decl::Class::this_ ? syms_->clause_vars
                                                                : syms_->globals;
    for (const auto& in : syms_->inlines)
      if (in.name == d.name && &table == &syms_->globals) {
        error("D_DECL_IDRED", d.loc, "identifier redeclared: " + d.name + " is an inline");
        return;
      }
    if (VarDecl* old = syms_->find(table, d.name)) {
      bool same = old->is_array == v.is_array && old->type == v.type && old->dim == v.dim && old->keys.size() == v.keys.size();
      for (size_t i = 0; same && i < v.keys.size(); ++i) same = old->keys[i] == v.keys[i];
      if (!same)
        error("D_DECL_IDRED", d.loc,
              "identifier redeclared: " + d.name + " (current: " + describe(v) + "; previous: " + describe(*old) + ")");
      return;
    }
    v.slot = static_cast<int>(table.size());
    table.push_back(v);
  }

  // curlwpsinfo->pr_name[i]: procfs.d's char pr_name[16], whose constant
  // index dtrace checks against the array's length (D_ARR_BOUNDS).
  bool char_array_bounds(const Expr& deref) {
    const Expr& s = *deref.kids[0]->kids[0];

    if (s.kind != ExprKind::ident ||
        (s.id != static_cast<int>(Var::curpsinfo) && s.id != static_cast<int>(Var::curlwpsinfo)))
      return true;
    const auto arrow = s.text.find("->");
    if (arrow == std::string::npos) return true;
    const ProcMember* m = find_proc_member(s.id == static_cast<int>(Var::curlwpsinfo), s.text.substr(arrow + 2));
    auto i = const_int(*deref.kids[0]->kids[1]);
    if (!m || m->array_len == 0 || !i || (*i >= 0 && *i < m->array_len)) return true;
    error("D_ARR_BOUNDS", deref.kids[0]->kids[1]->loc,
          "index " + std::to_string(*i) + " is out of range for " + s.text + ", a char[" +
              std::to_string(m->array_len) + "]: use an index from 0 to " + std::to_string(m->array_len - 1));
    return false;
  }

  // this->a[i], self->a[i] of a declared array: *(this->a + i), whose
  // constant index must lie in the array (the VM checks the rest).
  bool local_array_bounds(const Expr& deref) {
    const Expr& sum = *deref.kids[0];
    if (sum.kind != ExprKind::binary || sum.op != Op::add || !sum.is_postfix || sum.kids.size() != 2) return true;
    const Expr& base = *sum.kids[0];
    if ((base.kind != ExprKind::this_var && base.kind != ExprKind::self_var) || base.id != kArrayDecay) return true;
    auto i = const_int(*sum.kids[1]);
    if (!i || (*i >= 0 && static_cast<uint64_t>(*i) < base.ival)) return true;
    error("D_ARR_BOUNDS", sum.kids[1]->loc,
          "index " + std::to_string(*i) + " is out of range for array " +
              (base.kind == ExprKind::self_var ? "self->" : "this->") + base.text + "[" + std::to_string(base.ival) + "]");
    return false;
  }

  // int a[5] takes one index: a[1, 2] is dt_cook_op2's D_ARR_BADREF, a
  // comma list inside a non-associative array reference.
  bool fixed_array_keys(Expr& e, const VarDecl& v) {
    if (v.dim == 0 || e.kids.size() == 1) return true;
    error("D_ARR_BADREF", e.loc,
          "'" + e.text + "' is an array of " + std::to_string(v.dim) + " elements, not an associative array: index it with one integer, e.g. " +
              e.text + "[0]");
    return false;
  }

  // int a[5]: a constant index must lie in the array (the VM checks the rest).
  void check_bounds(Expr& e, const VarDecl& v) {
    if (v.dim == 0 || e.kids.size() != 1) return;
    e.ival = static_cast<uint64_t>(v.dim);
    auto i = const_int(*e.kids[0]);
    if (i && (*i < 0 || *i >= v.dim))
      error("D_ARR_BOUNDS", e.kids[0]->loc,
            "index " + std::to_string(*i) + " is out of range for array " + v.name + "[" + std::to_string(v.dim) + "]");
  }

  uint64_t strsize() const {
    auto it = syms_->options.find("strsize");
    if (it != syms_->options.end()) {
      auto v = parse_uint(it->second);
      if (v && *v > 0) return *v;
    }
    return 256;
  }

  void visit_kids(Expr& e, size_t from) {
    const Expr* outer = parent_;
    parent_ = &e;
    for (size_t i = from; i < e.kids.size(); ++i) {
      statement_top_ = false;
      visit(*e.kids[i]);
    }
    parent_ = outer;
  }

  // The tag DTrace gives an array named without an index: that of the
  // expression around it (&a, sizeof a, a predicate, an assignment).
  const char* bare_array_tag(const Expr& e) const {
    if (clause_ && clause_->predicate.get() == &e) return "D_PRED_SCALAR";
    const Expr* p = parent_;
    bool kid = false;
    if (p)
      for (const auto& k : p->kids) kid = kid || k.get() == &e;
    if (!kid) return "D_ARR_BADREF";
    if (p->kind == ExprKind::unary && p->op == Op::addr) return "D_ADDROF_VAR";
    if (p->kind == ExprKind::sizeof_expr) return "D_IDENT_BADREF";
    if (p->kind == ExprKind::assign) return "D_OP_ARRFUN";
    return "D_ARR_BADREF";
  }

  // The tag DTrace gives an action used as a value: the check of the
  // expression around it fails (its operand or argument has type void).
  const char* action_value_tag(const Expr& e) const {
    const Expr* p = parent_;
    bool kid = false;
    if (p)
      for (const auto& k : p->kids) kid = kid || k.get() == &e;
    if (!kid) return "D_ACT_VALUE";
    switch (p->kind) {
    case ExprKind::call:
      if (p->text == "trace") return "D_TRACE_VOID";
      if ((p->text == "printf" || p->text == "printa" || p->text == "system") && p->kids[0].get() != &e)
        return "D_PRINTF_ARG_TYPE";
      return "D_PROTO_ARG";
    case ExprKind::ternary: return "D_OP_ACT";
    case ExprKind::stringof: return "D_STRINGOF_TYPE";
    case ExprKind::unary:
    case ExprKind::binary:
      switch (p->op) {
      case Op::add: case Op::sub: case Op::mul: case Op::div: case Op::mod: case Op::neg: case Op::plus:
        return "D_OP_ARITH";
      case Op::band: case Op::bor: case Op::bxor: case Op::shl: case Op::shr: case Op::bnot: return "D_OP_INT";
      case Op::land: case Op::lor: case Op::lxor: case Op::lnot: return "D_OP_SCALAR";
      default: return "D_ACT_VALUE";
      }
    default: return "D_ACT_VALUE";
    }
  }

  static std::string arg_count_message(const std::string& name, int min, int max, int n) {
    std::string want = min == max ? std::to_string(min)
                       : max < 0  ? "at least " + std::to_string(min)
                                  : std::to_string(min) + " to " + std::to_string(max);
    return quoted_fn(name) + " takes " + want + " argument" + (want == "1" ? "" : "s") + " but " +
           std::to_string(n) + (n == 1 ? " was" : " were") + " given";
  }

  // The attributes an option such as amin gives (parse_attributes).
  std::optional<std::array<int, 3>> option_attributes(const char* name) const {
    auto it = syms_->options.find(name);
    if (it == syms_->options.end()) return std::nullopt;
    return parse_attributes(it->second);
  }

  void undefined(Expr& e, const std::string& why) {
    if (!report_) return;
    if (!why.empty()) {
      error("D_IDENT_UNDEF", e.loc, why + ": assign it before using it");
      return;
    }
    if (!e.text.empty() && e.text[0] == '`') {
      // `NAME: a kernel symbol, which user space has none of.
      error("D_IDENT_UNDEF", e.loc,
            "unknown identifier '" + e.text + "': " +
                (e.text.size() == 1 ? std::string("'`' names no symbol")
                                    : "a name in the kernel's scope, and probekit traces user space only") +
                "; scope a target's symbol with its module, e.g. a.out`" +
                (e.text.size() == 1 ? std::string("name") : e.text.substr(1)));
      return;
    }
    std::vector<std::string> names = var_names();
    for (const auto& g : syms_->globals) names.push_back(g.name);
    auto near = closest_matches(e.text, names);
    error("D_IDENT_UNDEF", e.loc,
          "unknown identifier '" + e.text + "'" +
              (near.empty() ? std::string("; assign it before using it") : "; did you mean '" + near[0] + "'?"));
  }

  void use_var(Expr& e, std::vector<VarDecl>& table, const char* prefix) {
    VarDecl* v = syms_->find(table, e.text);
    if (!v || v->type.is_none()) {
      if (report_)
        error("D_IDENT_UNDEF", e.loc,
              std::string("'") + prefix + e.text + "' is never assigned a value: assign it before using it");
      return;
    }
    e.slot = v->slot;
    e.type = v->type;
    if (v->is_array && v->dim > 0) {
      // this->a of `this int a[5]`: the address of its first element, as
      // a declared global array's name is (kArrayDecay).
      e.id = kArrayDecay;
      e.ival = static_cast<uint64_t>(v->dim);
      e.type = element_pointer(v->type);
      e.cast_type = v->type;
    }
    e.alloca = v->alloca;
  }

  std::string describe_lvalue(const Expr& e) {
    switch (e.kind) {
    case ExprKind::member: return "member '" + e.text + "'";
    case ExprKind::unary: return "'*'";
    case ExprKind::self_var: return "'self->" + e.text + "'";
    case ExprKind::this_var: return "'this->" + e.text + "'";
    case ExprKind::index: return "'" + e.text + "[]'";
    default: return "'" + e.text + "'";
    }
  }

  // Declares or checks the variable an assignment writes; returns its type
  // (none when undeclared yet or on error).
  Type visit_lvalue(Expr& e, const Type& value, bool read_too) {
    // Declaring a variable with an unknown (for now) value type does nothing.
    auto declare = [&](std::vector<VarDecl>& table, bool is_array) -> VarDecl* {
      VarDecl* v = syms_->find(table, e.text);
      if (!v) {
        VarDecl d;
        d.name = e.text;
        d.is_array = is_array;
        d.slot = static_cast<int>(table.size());
        d.loc = e.loc;
        table.push_back(d);
        v = &table.back();
      }
      if (v->type.is_none() && !value.is_none()) v->type = value;
      // Integers widen to the widest integer ever assigned, so that
      // `self->ts = 0` before `self->ts = timestamp` does not truncate.
      if (!v->declared && v->type.is_integer() && value.is_integer() && value.size > v->type.size) v->type = value;
      return v;
    };
    switch (e.kind) {
    case ExprKind::ident: {
      if (e.id == static_cast<int>(Var::curpsinfo) || e.id == static_cast<int>(Var::curlwpsinfo)) {
        error("D_OP_WRITE", e.loc, "'" + e.text + "' is a built-in variable and cannot be modified");
        return Type::none();
      }
      if (find_inline(e.text)) {
        error("D_OP_LVAL", e.loc, "'" + e.text + "' is an inline and cannot be modified");
        return Type::none();
      }
      if (find_var(e.text)) {
        error("D_OP_WRITE", e.loc, "'" + e.text + "' is a built-in variable and cannot be modified");
        return Type::none();
      }
      if (find_register(e.text) || find_constant(e.text) || e.text == "NULL") {
        error("D_OP_LVAL", e.loc, "'" + e.text + "' is a constant and cannot be modified");
        return Type::none();
      }
      VarDecl* existing = syms_->find(syms_->globals, e.text);
      if (existing && existing->is_array) {
        // dtrace: an array (or a function) cannot be assigned.
        error("D_OP_ARRFUN", e.loc, "'" + e.text + "' is an associative array: index it, e.g. " + e.text + "[key]");
        return Type::none();
      }
      VarDecl* v = declare(syms_->globals, false);
      e.slot = v->slot;
      e.type = v->type;
      if (report_) defined_globals_.insert(e.text);
      return v->type;
    }
    case ExprKind::self_var: {
      if (const VarDecl* a = syms_->find(syms_->thread_vars, e.text); a && a->is_array) {
        error("D_OP_ARRFUN", e.loc, describe_lvalue(e) + " is an array and cannot be assigned: assign its elements");
        return Type::none();
      }
      VarDecl* v = declare(syms_->thread_vars, false);
      e.slot = v->slot;
      e.type = v->type;
      return v->type;
    }
    case ExprKind::this_var: {
      if (const VarDecl* a = syms_->find(syms_->clause_vars, e.text); a && a->is_array) {
        error("D_OP_ARRFUN", e.loc, describe_lvalue(e) + " is an array and cannot be assigned: assign its elements");
        return Type::none();
      }
      VarDecl* v = declare(syms_->clause_vars, false);
      e.slot = v->slot;
      e.type = v->type;
      return v->type;
    }
    case ExprKind::index: {
      visit_kids(e, 0);
      if (e.text == "args") {
        error("D_OP_WRITE", e.loc, "'args[]' cannot be modified");
        return Type::none();
      }
      if (e.text == "uregs") {
        e.id = static_cast<int>(IndexKind::uregs);
        auto idx = e.kids.size() == 1 ? const_int(*e.kids[0]) : std::nullopt;
        if (!idx || *idx < 0 || *idx >= kRegisterCount) {
          error("D_REGS_IDX", e.loc,
                idx && *idx >= kXmmRegisterBase && is_register_number(*idx)
                    ? "the SSE registers (R_XMM0..R_XMM15) can be read but not assigned"
                    : "index of 'uregs[]' must be a register constant such as 'R_PC' or 'R_RAX'");
          return Type::none();
        }
        e.ival = static_cast<uint64_t>(uregs_word(static_cast<int>(*idx)));
        if (!destructive_allowed()) {
          error("D_DESTRUCT", e.loc, "assigning to 'uregs[]' is destructive: run with '-w' to allow it");
          return Type::none();
        }
        e.type = Type::integer(8, false);
        return e.type;
      }
      if (find_var(e.text)) {
        error("D_OP_WRITE", e.loc, "'" + e.text + "' is a built-in variable and cannot be modified");
        return Type::none();
      }
      if (self_pointer_index(e)) return visit_lvalue(e, value, read_too);
      if (std::exchange(self_badref_, false)) return Type::none();
      VarDecl* existing = syms_->find(syms_->globals, e.text);
      if (existing && !existing->is_array && pointer_index(e, existing->type)) return visit_lvalue(e, value, read_too);
      if (existing && !existing->is_array) {
        error("D_ARR_BADREF", e.loc, "'" + e.text + "' is a scalar variable and cannot be indexed");
        return Type::none();
      }
      for (auto& k : e.kids) {
        if (k->type.is_none()) return Type::none();
        if (k->kind == ExprKind::agg_ref) {
          error("D_KEY_TYPE", k->loc, "an aggregation cannot be used as a key");
          return Type::none();
        }
      }
      if (existing && !fixed_array_keys(e, *existing)) return Type::none();
      VarDecl* v = declare(syms_->globals, true);
      if (v->keys.empty())
        for (auto& k : e.kids) v->keys.push_back(k->type);
      if (!check_keys(e, v->keys, 0, "'" + e.text + "[]'")) return Type::none();
      check_bounds(e, *v);
      e.id = static_cast<int>(IndexKind::array);
      e.slot = v->slot;
      e.type = v->type;
      return v->type;
    }
    case ExprKind::member:
    case ExprKind::unary: {
      // p->m, x.m and *p: memory. D's own (struct variables, alloca())
      // takes the store; the target's user memory faults at run time
      // (DTrace's invalid address: only copyout() writes there).
      if (e.kind == ExprKind::unary ? e.op != Op::deref : e.kids.empty() || e.kids[0]->kind == ExprKind::xlate)
        break;
      visit(e);
      if (e.type.is_none()) return Type::none();
      if (e.kind == ExprKind::ident) return visit_lvalue(e, value, read_too);  // curpsinfo->M, rewritten
      if (is_string_index(e)) {
        error("D_OP_WRITE", e.loc, "a string cannot be modified in place: build a new one, e.g. with strjoin() or substr()");
        return Type::none();
      }
      if (e.kind == ExprKind::member && e.id == kMemberArray) {
        error("D_OP_LVAL", e.loc,
              std::string("member '") + e.text + "' is an array and cannot be assigned: assign its elements or the whole struct");
        return Type::none();
      }
      return e.type;
    }
    default: break;
    }
    {
      if (read_too || true) visit(e);
      error("D_OP_LVAL", e.loc, "the left side of an assignment must be a variable, 'self->name', 'this->name' or 'array[key]'");
      return Type::none();
    }
  }

  // dt_cg_arglist builds a tuple of at most dtc_diftupregs + 1 values (-x
  // tregs, 8 by default): more is EDT_NOTUPREG, a compile failure.
  bool tuple_fits(const Expr& e, size_t n, const std::string& what) {
    uint64_t regs = 8;
    if (auto it = syms_->options.find("tregs"); it != syms_->options.end())
      if (auto v = parse_uint(it->second); v && *v > 0) regs = *v;
    if (n <= regs + 1) return true;
    error("D_TUPLE_REGS", e.loc,
          what + " has " + std::to_string(n) + " keys, more than the " + std::to_string(regs + 1) +
              " a tuple holds: use fewer keys (or raise -x tregs, now " + std::to_string(regs) + ")");
    return false;
  }

  bool check_keys(Expr& e, const std::vector<Type>& keys, size_t from, const std::string& what) {
    size_t n = e.kids.size() - from;
    if (!tuple_fits(e, n, what)) return false;
    if (n != keys.size()) {
      error("D_PROTO_LEN", e.loc,
            what + " has " + std::to_string(keys.size()) + " key(s) elsewhere but " + std::to_string(n) +
                " here; use the same keys everywhere");
      return false;
    }
    for (size_t i = 0; i < n; ++i) {
      const Type& t = e.kids[from + i]->type;
      if (!t.is_none() && !compatible(keys[i], t)) {
        error("D_PROTO_ARG", e.kids[from + i]->loc,
              "key #" + std::to_string(i + 1) + " of " + what + " is " + type_name(t) + " here but " +
                  type_name(keys[i]) + " elsewhere");
        return false;
      }
    }
    return true;
  }

  bool destructive_allowed() const {
    return syms_->options.count("destructive") > 0;  // -w, -x destructive, the pragma: the options pass
  }

  bool need(Expr& e, size_t i, bool want_string, const char* what = nullptr) {
    if (i >= e.kids.size()) return true;
    const Type& t = e.kids[i]->type;
    if (t.is_none()) {
      if (e.kids[i]->kind == ExprKind::agg_ref)
        error("D_PROTO_ARG", e.kids[i]->loc,
              quoted_fn(e.text) + " argument #" + std::to_string(i + 1) + " cannot be an aggregation");
      return false;
    }
    // A string parameter takes NULL or a pointer (dt_node_is_argcompat):
    // the string it points to, NULL faulting when the program runs.
    bool ok = want_string ? t.is_string() || string_from_pointer(e.kids[i], false) : t.is_scalar();
    if (!ok)
      error("D_PROTO_ARG", e.kids[i]->loc,
            quoted_fn(e.text) + " argument #" + std::to_string(i + 1) + " must be " +
                (what ? what : want_string ? "a string" : "an integer") + ", not " + t.name());
    return ok;
  }

  // The tag of clear(), normalize(), denormalize() and trunc() for a first
  // argument that is not an aggregation (dt_cg's own for each); null for
  // any other expression.
  static const char* agg_arg_tag(const Expr* call) {
    if (!call || call->kind != ExprKind::call || call->kids.empty()) return nullptr;
    if (call->text == "clear") return "D_CLEAR_AGGARG";
    if (call->text == "normalize" || call->text == "denormalize") return "D_NORMALIZE_AGGARG";
    if (call->text == "trunc") return "D_TRUNC_AGGARG";
    return nullptr;
  }

  bool need_agg(Expr& e, size_t i) {
    if (e.kids[i]->kind != ExprKind::agg_ref) {
      const char* tag = i == 0 ? agg_arg_tag(&e) : nullptr;
      error(tag ? tag : "D_PROTO_ARG", e.kids[i]->loc,
            quoted_fn(e.text) + " argument #" + std::to_string(i + 1) + " must be an aggregation such as '@name'");
      return false;
    }
    return e.kids[i]->slot >= 0;
  }

  void report_format_issues(Expr& fmt, const std::vector<FormatIssue>& issues, Expr& call) {
    for (const auto& is : issues) {
      Loc loc = fmt.loc;
      // Point into the literal when it has no escapes before the offset.
      if (fmt.loc.length == static_cast<int>(fmt.text.size()) + 2) {
        loc.column += 1 + static_cast<int>(is.offset);
        loc.length = static_cast<int>(is.length);
      }
      if (is.arg >= 0 && static_cast<size_t>(is.arg) + 1 < call.kids.size() &&
          (is.id == "D_PRINTF_ARG_TYPE" || is.id == "D_PRINTF_ARG_EXTRA" || is.id == "D_PRINTF_DYN_TYPE"))
        loc = call.kids[static_cast<size_t>(is.arg) + 1]->loc;
      error(is.id.c_str(), loc, is.message);
    }
  }

  // dtrace checks a call's arguments when it parses it, speculation rules
  // when it generates code, and permission for destructive actions last:
  // so a bad argument is D_PROTO_ARG and a destructive action after
  // speculate() D_ACT_SPEC (the action pass), even without -w.
  void check_call(Expr& e, const FnInfo& fn, bool top) {
    const int before = ctx_->diags.error_count();
    check_call_arguments(e, fn, top);
    if (fn.fn == Fn::speculate && top) after_speculate_ = true;
    if (fn.destructive && !destructive_allowed() && !after_speculate_ && ctx_->diags.error_count() == before)
      error("D_DESTRUCT", e.loc, quoted_fn(e.text) + " is a destructive action: run with '-w' to allow it");
  }

  void check_call_arguments(Expr& e, const FnInfo& fn, bool top) {
    (void)top;
    e.type = Type::none();
    switch (fn.fn) {
    case Fn::trace:
      if (e.kids[0]->kind == ExprKind::agg_ref) {
        error("D_TRACE_DYN", e.kids[0]->loc, "'trace()' cannot print an aggregation: use printa(@" + e.kids[0]->text + ")");
        return;
      }
      if (e.kids[0]->type.is_none()) {
        const FnInfo* inner = e.kids[0]->kind == ExprKind::call ? find_function(e.kids[0]->text) : nullptr;
        if (inner && !inner->is_action)  // an action was reported where it stands
          error("D_TRACE_VOID", e.kids[0]->loc, "'trace()' needs a value, and this has none");
      }
      return;
    case Fn::printf:
    case Fn::system: {
      Expr& fmt = *e.kids[0];
      if (fmt.kind != ExprKind::string) {
        // dtrace: a format that is not a string at all fails the
        // prototype (D_PROTO_ARG); a string that is not a literal is
        // D_PRINTF_ARG_FMT.
        if (!fmt.type.is_none() && !fmt.type.is_string())
          error("D_PROTO_ARG", fmt.loc,
                quoted_fn(e.text) + " format must be a string literal, not " + fmt.type.name());
        else error("D_PRINTF_ARG_FMT", fmt.loc, quoted_fn(e.text) + " format must be a string literal");
        return;
      }
      if (fmt.text.empty() && fn.fn == Fn::printf) {
        error("D_PRINTF_FMT_EMPTY", fmt.loc, "'printf()' format is empty: give it text or conversions, or remove it");
        return;
      }
      std::vector<ArgType> args;
      for (size_t i = 1; i < e.kids.size(); ++i) {
        if (e.kids[i]->kind == ExprKind::agg_ref) {
          error("D_PRINTF_ARG_TYPE", e.kids[i]->loc, quoted_fn(e.text) + " cannot print an aggregation: use printa()");
          return;
        }
        if (e.kids[i]->type.is_none()) return;
        if (e.kids[i]->type.object) {
          error("D_PRINTF_ARG_TYPE", e.kids[i]->loc,
                quoted_fn(e.text) + " argument #" + std::to_string(i + 1) + " is a " + type_name(e.kids[i]->type) +
                    ": print() it, or pass one of its members");
          return;
        }
        args.push_back(arg_type_of(e.kids[i]->type));
      }
      auto issues = check_format(fmt.text, args);
      // A char * given to "%s" is the string it points to, as dtrace's
      // pfcheck_str takes a pointer to char there: it is read as stringof().
      bool rewrapped = false;
      for (const auto& is : issues) {
        if (is.id != "D_PRINTF_ARG_TYPE" || is.arg < 0) continue;
        ExprPtr& k = e.kids[static_cast<size_t>(is.arg) + 1];
        const Type& t = k->type;
        if (t.kind != Type::Kind::pointer || t.object || t.tag || t.pointee_string || t.pointee_size != 1) continue;
        auto as_string = args;
        as_string[static_cast<size_t>(is.arg)] = arg_type_of(Type::string());
        const auto again = check_format(fmt.text, as_string);
        const bool fixed = std::none_of(again.begin(), again.end(), [&](const auto& i) { return i.arg == is.arg; });
        if (fixed && string_from_pointer(k, false)) {
          args = as_string;
          rewrapped = true;
        }
      }
      if (rewrapped) issues = check_format(fmt.text, args);
      if (report_) report_format_issues(fmt, issues, e);
      return;
    }
    case Fn::printa: {
      size_t first = 0;
      Expr* fmt = nullptr;
      if (e.kids[0]->kind == ExprKind::string) {
        fmt = e.kids[0].get();
        first = 1;
        if (e.kids.size() < 2) {
          error("D_PRINTA_PROTO", e.loc, "'printa()' needs an aggregation after the format, e.g. printa(\"%@d\", @a)");
          return;
        }
      }
      const AggDecl* base = nullptr;
      for (size_t i = first; i < e.kids.size(); ++i) {
        if (e.kids[i]->kind != ExprKind::agg_ref) {
          error("D_PRINTA_AGGARG", e.kids[i]->loc,
                "'printa()' argument #" + std::to_string(i + 1) + " must be an aggregation such as '@name'");
          return;
        }
        if (e.kids[i]->slot < 0) return;
        const AggDecl& a = syms_->aggs[static_cast<size_t>(e.kids[i]->slot)];
        if (base && base->keys.size() != a.keys.size()) {
          error("D_PRINTA_AGGKEY", e.kids[i]->loc,
                "'@" + a.name + "' and '@" + base->name + "' have different keys and cannot be printed together");
          return;
        }
        if (base) {
          // dt_printf.c: each key must be argument-compatible with the
          // first aggregation's (a string with a string, a number with a
          // number): D_PRINTA_AGGPROTO.
          for (size_t k = 0; k < a.keys.size(); ++k) {
            const Type& x = base->keys[k];
            const Type& y = a.keys[k];
            if (x.is_none() || y.is_none()) continue;
            const bool ok = x.is_string() || y.is_string() ? x.is_string() && y.is_string()
                            : x.is_scalar() && y.is_scalar() ? true
                                                             : x.kind == y.kind;
            if (!ok) {
              error("D_PRINTA_AGGPROTO", e.kids[i]->loc,
                    "'@" + a.name + "[]' key #" + std::to_string(k + 1) + " is " + y.name() + " but '@" + base->name +
                        "[]' key #" + std::to_string(k + 1) + " is " + x.name() +
                        ": aggregations printed together need keys of the same types");
              return;
            }
          }
        }
        if (!base) base = &a;
      }
      if (fmt && base && report_) {
        std::vector<ArgType> keys;
        for (const auto& k : base->keys) keys.push_back(arg_type_of(k));
        report_format_issues(*fmt, check_printa_format(fmt->text, keys, e.kids.size() - first), e);
      }
      return;
    }
    case Fn::exit:
    case Fn::speculate:
    case Fn::commit:
    case Fn::discard:
    case Fn::raise:
    case Fn::override: need(e, 0, false); return;
    case Fn::clear:
    case Fn::denormalize: need_agg(e, 0); return;
    case Fn::trunc:
    case Fn::normalize:
      if (need_agg(e, 0)) need(e, 1, false);
      return;
    case Fn::setopt: {
      if (e.kids[0]->kind != ExprKind::string) {
        error("D_PROTO_ARG", e.kids[0]->loc, "'setopt()' option name must be a string literal");
        return;
      }
      // An option setopt() cannot set is the consumer's error when the
      // clause runs, as dtrace reports it, not the compiler's.
      need(e, 1, true);
      return;
    }
    case Fn::stop: return;
    case Fn::copyout:
      if (!e.kids[0]->type.is_none() && !e.kids[0]->type.is_scalar() && !e.kids[0]->type.is_string()) {
        need(e, 0, false);
        return;
      }
      need(e, 1, false);
      need(e, 2, false);
      return;
    case Fn::copyoutstr:
      need(e, 0, true);
      need(e, 1, false);
      need(e, 2, false);
      return;
    case Fn::ustack: {
      // dt_cg_stack_arg's checks, after the prototype's (D_PROTO_ARG): a
      // frame count that is not a positive constant is D_USTACK_FRAMES, a
      // string size that is not a constant >= 0 D_USTACK_STRSIZE.
      if (!need(e, 0, false) || !need(e, 1, false) || !frame_count(e, "D_USTACK_FRAMES")) return;
      if (e.kids.size() > 1) {
        auto n = const_int(*e.kids[1]);
        if (!n || *n < 0) {
          error("D_USTACK_STRSIZE", e.kids[1]->loc,
                "'ustack()' argument #2 must be a positive integer constant (a string size)");
          return;
        }
      }
      e.ival = e.kids.empty() ? 0 : static_cast<uint64_t>(*const_int(*e.kids[0]));
      e.type = Type::stack();
      return;
    }
    case Fn::copyin:
      need(e, 0, false);
      // copyin() allocates its bytes as alloca() does (dt_cg_subr_copyin
      // calls dt_cg_subr_alloca_impl): a constant size is checked alike.
      if (need(e, 1, false)) check_alloca_size(*e.kids[1], "copyin");
      e.type = Type::pointer();
      return;
    case Fn::copyinstr:
      need(e, 0, false);
      need(e, 1, false);
      e.type = Type::string();
      return;
    case Fn::strlen:
      need(e, 0, true);
      e.type = Type::integer(8, false);
      return;
    case Fn::strjoin:
    case Fn::strstr:
      need(e, 0, true);
      need(e, 1, true);
      e.type = Type::string();
      return;
    case Fn::substr:
      need(e, 0, true);
      need(e, 1, false);
      need(e, 2, false);
      e.type = Type::string();
      return;
    case Fn::index:
    case Fn::rindex:
      need(e, 0, true);
      need(e, 1, true);
      need(e, 2, false);
      e.type = Type::integer(4, true);
      return;
    case Fn::strtok:
      if (!e.kids[0]->type.is_string() && !(e.kids[0]->kind == ExprKind::integer && e.kids[0]->ival == 0) &&
          !(e.kids[0]->type.kind == Type::Kind::pointer))
        need(e, 0, true, "a string or NULL");
      need(e, 1, true);
      e.type = Type::string();
      return;
    case Fn::basename:
    case Fn::dirname:
    case Fn::toupper:
    case Fn::tolower:
      need(e, 0, true);
      e.type = Type::string();
      return;
    case Fn::ufunc:
    case Fn::usym:
    case Fn::umod:
    case Fn::uaddr:
      need(e, 0, false);
      e.type = Type::symbol();
      return;
    case Fn::speculation:
    case Fn::rand:
      e.type = Type::integer(4, true);
      return;
    case Fn::lltostr:
      need(e, 0, false);
      if (e.kids.size() > 1) {
        need(e, 1, false);
        auto b = const_int(*e.kids[1]);
        if (b && (*b < 2 || *b > 36)) {
          error("D_PROTO_ARG", e.kids[1]->loc, "'lltostr()' base must be from 2 to 36");
          return;
        }
      }
      e.type = Type::string();
      return;
    case Fn::progenyof:
      need(e, 0, false);
      e.type = Type::integer(4, true);
      return;
    case Fn::strchr:
    case Fn::strrchr:
      need(e, 0, true);
      need(e, 1, false, "a character");
      e.type = Type::string();
      return;
    case Fn::htons:
    case Fn::ntohs:
      need(e, 0, false);
      e.type = Type::integer(2, false);
      return;
    case Fn::htonl:
    case Fn::ntohl:
      need(e, 0, false);
      e.type = Type::integer(4, false);
      return;
    case Fn::htonll:
    case Fn::ntohll:
      need(e, 0, false);
      e.type = Type::integer(8, false);
      return;
    case Fn::inet_ntoa:
    case Fn::inet_ntoa6:
      need(e, 0, false, "a pointer to the address");
      if (fn.fn == Fn::inet_ntoa6 && !e.kids.empty()) {
        // Its prototype takes an in6_addr_t *: a pointer to another type
        // (int *, char *, struct foo *) is not argument-compatible; void *
        // and integers are (dt_node_is_argcompat).
        const Type& t = e.kids[0]->type;
        const bool typed = t.kind == Type::Kind::pointer && !t.object && (t.pointee_size != 0 || t.tag != 0);
        const std::string* tag_name =
            t.tag > 0 && t.tag <= ctx_->ast.structs.size() ? &ctx_->ast.structs[t.tag - 1u].name : nullptr;
        if (typed && (!tag_name || *tag_name != "struct in6_addr"))
          error("D_PROTO_ARG", e.kids[0]->loc,
                "'inet_ntoa6()' argument #1 must be a pointer to an IPv6 address (in6_addr_t *), not " +
                    (tag_name ? *tag_name + " *" : t.name()) + "; cast it to (in6_addr_t *) if it holds one");
      }
      // inet_ntoa6(addr, strict): dtrace-utils takes an integer constant,
      // which decides whether an IPv4 address keeps its "::" or "::ffff:".
      if (e.kids.size() > 1 && !e.kids[1]->type.is_none() &&
          (!e.kids[1]->type.is_integer() || !const_int(*e.kids[1])))
        error("D_PROTO_ARG", e.kids[1]->loc,
              quoted_fn(e.text) + " argument #2 must be an integer constant (0 or 1), not " +
                  (e.kids[1]->type.is_integer() ? "a variable" : e.kids[1]->type.name()));
      e.type = Type::string();
      return;
    case Fn::link_ntop:
      need(e, 0, false, "a hardware type (ARPHRD_ETHER or ARPHRD_INFINIBAND)");
      need(e, 1, false, "a pointer to the address");
      e.type = Type::string();
      return;
    case Fn::cleanpath:
      need(e, 0, true);
      e.type = Type::string();
      return;
    case Fn::getmajor:
    case Fn::getminor:
      need(e, 0, false, "a dev_t");
      e.type = Type::integer(4, false);  // the kernel's dev_t (u32)
      return;
    case Fn::inet_ntop:
      need(e, 0, false, "an address family (AF_INET or AF_INET6)");
      need(e, 1, false, "a pointer to the address");
      e.type = Type::string();
      return;
    case Fn::alloca:
      if (need(e, 0, false)) check_alloca_size(*e.kids[0], "alloca");
      e.type = Type::pointer();
      e.alloca = true;
      return;
    case Fn::copyinto:
      need(e, 0, false);
      need(e, 1, false);
      if (need(e, 2, false, "a pointer from alloca()")) {
        // Its prototype's third parameter is void *: an integer other than
        // the constant 0 is not argument-compatible (D_PROTO_ARG).
        const Expr& dst = *e.kids[2];
        auto n = const_int(dst);
        if (dst.type.kind != Type::Kind::pointer && !(n && *n == 0))
          error("D_PROTO_ARG", dst.loc,
                "'copyinto()' argument #3 must be a pointer from alloca(), not " + dst.type.name());
      }
      return;
    case Fn::print: {
      // dtrace-utils' prototype is void(void *): the object a pointer
      // refers to is printed, so that type must have a size.
      const Type& t = e.kids[0]->type;
      if (t.is_none()) return;
      if (t.object) return;  // print(x) of a struct value: its bytes, its layout
      if (t.kind != Type::Kind::pointer) {
        error("D_PROTO_ARG", e.kids[0]->loc,
              "'print()' argument #1 is incompatible with prototype: void * (argument: " + t.name() +
                  "); pass a pointer to what to print, e.g. print((struct foo *)p)");
        return;
      }
      const StructType* st = t.tag > 0 && t.tag <= ctx_->ast.structs.size() ? &ctx_->ast.structs[t.tag - 1u] : nullptr;
      if (st ? !st->complete || st->size == 0 : t.pointee_size == 0) {
        error("D_PRINT_SIZE", e.kids[0]->loc,
              "'print()' argument #1 reference has type '" + (st ? st->name : std::string("void")) +
                  "' with size 0; cannot print() it: cast it to a pointer to a complete type");
        return;
      }
      return;
    }
    case Fn::tracemem: {
      const Type& t = e.kids[0]->type;
      if (!t.is_none() && !t.is_scalar()) {
        error("D_TRACEMEM_ADDR", e.kids[0]->loc,
              "'tracemem()' argument #1 must be a pointer or an integer, not " + t.name());
        return;
      }
      // The prototype (tracemem(@, size_t [, size_t])) first: a size that
      // is not an integer is D_PROTO_ARG, as dtrace's argument check has it.
      if (!need(e, 1, false)) return;
      auto n = const_int(*e.kids[1]);
      if (!n || *n <= 0) {
        error("D_TRACEMEM_SIZE", e.kids[1]->loc,
              "'tracemem()' argument #2 must be a non-zero positive integral constant expression");
        return;
      }
      need(e, 2, false);
      return;
    }
    case Fn::chill:
      need(e, 0, false, "a number of nanoseconds");
      return;
    case Fn::freopen: {
      Expr& fmt = *e.kids[0];
      if (fmt.kind != ExprKind::string) {
        error("D_PRINTF_ARG_FMT", fmt.loc, "'freopen()' file name must be a string literal (a printf format)");
        return;
      }
      if (fmt.text == ".") {
        // dt_cg.c: "." is dtrace's own sentinel for "back to stdout"
        // (DT_FREOPEN_RESTORE), which freopen("") means.
        error("D_FREOPEN_INVALID", fmt.loc, "'freopen()' argument #1 cannot be \".\": use freopen(\"\") to go back to stdout");
        return;
      }
      std::vector<ArgType> args;
      for (size_t i = 1; i < e.kids.size(); ++i) {
        if (e.kids[i]->type.is_none()) return;
        if (e.kids[i]->type.object) {
          error("D_PRINTF_ARG_TYPE", e.kids[i]->loc,
                quoted_fn(e.text) + " argument #" + std::to_string(i + 1) + " is a " + type_name(e.kids[i]->type) +
                    ": print() it, or pass one of its members");
          return;
        }
        args.push_back(arg_type_of(e.kids[i]->type));
      }
      if (report_) report_format_issues(fmt, check_format(fmt.text, args), e);
      return;
    }
    case Fn::ftruncate: return;
    case Fn::stack:
      // Its arguments are judged as dtrace judges them (the prototype's
      // D_PROTO_ARG, then dt_cg_stack_arg's D_STACK_SIZE) before the
      // kernel's stack is refused.
      // A probe that fires in user space has no kernel frame: its kernel
      // stack is empty (dtrace-utils' stack() at a uprobe); at a kernel
      // probe it would be frames probekit does not read.
      if (!need(e, 0, false) || !frame_count(e, "D_STACK_SIZE")) return;
      if (fires_in_kernel()) {
        error("D_VAR_UNSUP", e.loc,
              "'stack()' at a kernel probe is the kernel's stack, which probekit does not read: use it at a "
              "user-space probe (pid, usdt), or 'ustack()' for the process's");
        return;
      }
      e.ival = e.kids.empty() ? 0 : static_cast<uint64_t>(*const_int(*e.kids[0]));
      e.type = Type::stack();
      return;
    case Fn::panic:
    case Fn::breakpoint:
      // Without -w they are D_DESTRUCT (check_call). With it: DTrace's
      // panic() panics the kernel and breakpoint() enters the kernel
      // debugger; probekit has neither.
      if (!destructive_allowed()) return;
      error("D_ACT_UNSUP", e.loc,
            quoted_fn(e.text) + (fn.fn == Fn::panic ? " panics the kernel" : " stops the kernel in its debugger") +
                ", and probekit traces user space only: use stop() or raise() to act on the traced process");
      return;
    case Fn::bcopy:
      // bcopy(src, dst, size): src is any address (or a string's bytes),
      // dst memory from alloca(); both are checked when the clause runs.
      if (!e.kids[0]->type.is_none() && !e.kids[0]->type.is_scalar() && !e.kids[0]->type.is_string()) {
        need(e, 0, false, "an address or a string");
        return;
      }
      need(e, 1, false, "a pointer from alloca()");
      need(e, 2, false, "a size");
      return;
    }
  }

  PassContext* ctx_ = nullptr;
  const Clause* clause_ = nullptr;  // the clause being checked (args-> looks at its descriptions)
  Symbols* syms_ = nullptr;
  bool report_ = false;
  // The reporting round's globals assigned so far, in program order (a
  // clause's predicate also sees its own clause's: dt_compile_one_clause
  // cooks the actions and tries the predicate again).
  std::set<std::string> defined_globals_;
  bool statement_top_ = false;
  const Expr* parent_ = nullptr;  // the expression whose kids visit_kids() is visiting
  bool after_speculate_ = false;  // the clause being checked called speculate()
  size_t visible_inlines_ = 0;  // inlines [0, n) can be named here
  const InlineDecl* inline_params_ = nullptr;  // the inline array whose value is being typed
};

// --- action rules -------------------------------------------------------------

class ActionPass : public Pass {
public:
  ActionPass() : Pass("actions") {}

  void run(PassContext& ctx) override {
    for (auto& c : ctx.ast.clauses) {
      bool spec = false, commit = false, recorded = false, aggregated = false;
      // The statements in order, those of if/else blocks included.
      std::vector<Expr*> statements;
      auto flatten = [&](auto& self, std::vector<ExprPtr>& list) -> void {
        for (auto& s : list) {
          if (s->kind == ExprKind::if_stmt) {
            for (size_t i = 1; i < s->kids.size(); ++i) self(self, s->kids[i]->kids);
          } else {
            statements.push_back(s.get());
          }
        }
      };
      flatten(flatten, c.body);
      // dtrace-utils' dt_cg_clsflags(): commit() seals a clause against
      // later data; discard() does not (data, exit() and another commit()
      // or discard() may follow it), and commit() may follow discard().
      for (Expr* s : statements) {
        Expr& e = *s;
        if (e.kind == ExprKind::agg_set) {
          if (commit) ctx.diags.error("D_AGG_COMM", e.loc, "aggregating actions may not follow 'commit()' in a clause");
          else if (spec) ctx.diags.error("D_AGG_SPEC", e.loc, "aggregating actions may not follow 'speculate()' in a clause");
          aggregated = true;
          continue;
        }
        const FnInfo* fn = e.kind == ExprKind::call ? find_function(e.text) : nullptr;
        bool records = fn && fn->records_data;
        bool destructive = (fn && fn->destructive) ||
                           (e.kind == ExprKind::assign && e.kids[0]->kind == ExprKind::index &&
                            e.kids[0]->text == "uregs");
        if (fn && fn->fn == Fn::speculate) {
          if (spec) ctx.diags.error("D_SPEC_SPEC", e.loc, "'speculate()' may not follow another 'speculate()'");
          else if (commit) ctx.diags.error("D_SPEC_COMM", e.loc, "'speculate()' may not follow 'commit()'");
          else if (recorded || aggregated)
            ctx.diags.error("D_SPEC_DREC", e.loc, "'speculate()' must come before any data-recording action in its clause");
          spec = true;
          continue;
        }
        if (fn && fn->fn == Fn::commit) {
          if (recorded || aggregated) ctx.diags.error("D_COMM_DREC", e.loc, "'commit()' may not follow a data-recording action");
          commit = true;
          continue;
        }
        if (fn && fn->fn == Fn::discard) continue;
        const bool exits = fn && fn->fn == Fn::exit;
        if (spec && destructive) ctx.diags.error("D_ACT_SPEC", e.loc, "destructive actions may not follow 'speculate()'");
        else if (spec && exits) ctx.diags.error("D_EXIT_SPEC", e.loc, "'exit()' may not follow 'speculate()'");
        else if (commit && (records || destructive || exits))
          ctx.diags.error("D_DREC_COMM", e.loc,
                          exits ? "'exit()' may not follow 'commit()' in a clause"
                                : "data-recording actions may not follow 'commit()'");
        if (records || destructive || exits) recorded = true;
      }
    }
  }
};

}  // namespace

std::unique_ptr<Pass> make_macro_pass() { return std::make_unique<MacroPass>(); }
std::unique_ptr<Pass> make_option_pass() { return std::make_unique<OptionPass>(); }
std::unique_ptr<Pass> make_semantic_pass() { return std::make_unique<SemanticPass>(); }
std::unique_ptr<Pass> make_action_pass() { return std::make_unique<ActionPass>(); }

void add_default_passes(PassManager& pm) {
  pm.add(make_macro_pass());
  pm.add(make_option_pass());
  pm.add(make_semantic_pass());
  pm.add(make_action_pass());
}

}  // namespace probekit::d
