#include "cli/d_probes.h"

#include <cstddef>

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cctype>
#include <cstdio>
#include <map>

#include "cli/kernel_probes.h"
#include "cli/report.h"
#include "cli/target.h"
#include "elf/elf_file.h"
#include "syscall/syscall_table.h"
#include "util/strings.h"

namespace probekit::cli {

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

namespace {

// "N[unit]" after a prefix: {N, unit}.
std::optional<std::pair<uint64_t, std::string>> count_and_unit(const std::string& name,
                                                               const std::string& prefix) {
  if (!starts_with(name, prefix)) return std::nullopt;
  std::string rest = name.substr(prefix.size());
  size_t i = 0;
  while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
  if (i == 0 || i > 12) return std::nullopt;
  uint64_t n = std::stoull(rest.substr(0, i));
  if (n == 0) return std::nullopt;
  return std::make_pair(n, rest.substr(i));
}

// Nanoseconds per unit of DTrace's profile provider; "hz" and "" are rates.
std::optional<double> unit_ns(const std::string& unit) {
  static const std::map<std::string, double> units = {
      {"ns", 1},     {"nsec", 1},    {"us", 1e3},    {"usec", 1e3},    {"ms", 1e6},
      {"msec", 1e6}, {"s", 1e9},     {"sec", 1e9},   {"m", 60e9},      {"min", 60e9},
      {"h", 3600e9}, {"hour", 3600e9}, {"d", 86400e9}, {"day", 86400e9}};
  auto it = units.find(unit);
  if (it == units.end()) return std::nullopt;
  return it->second;
}

bool provider_is(const d::ProbeDescription& desc, const char* provider) {
  return !desc.provider.empty() && glob_match(desc.provider, provider);
}

// A description's module field: a glob over "a.out"/the file name/the path,
// else the engine's naming rule ("a.out", "libc" for "libc.so.6", a path).
bool module_matches(const std::string& pattern, const ModuleInfo& m) {
  if (!has_glob(pattern)) return m.named_by(pattern);
  return glob_match(pattern, d_module_name(m)) || glob_match(pattern, m.name) || glob_match(pattern, m.path);
}

bool is_hex_offset(const std::string& s) {
  if (s.empty() || s.size() > 16) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Names a description's name field selects among `candidates`.
std::vector<std::string> select_names(const std::string& pattern, std::initializer_list<const char*> candidates) {
  std::vector<std::string> out;
  for (const char* n : candidates)
    if (pattern.empty() || glob_match(pattern, n)) out.emplace_back(n);
  return out;
}

// The name a pid probe on function `f` takes for a description's function
// field, with the raw symbol it resolves through, or nullopt when the field
// selects none of f's names. The names are tried in preference order (the
// preferred one, then the aliases), so a glob matching several aliases of
// one address gives one probe, named as DTrace names it (the first name in
// libproc's order that matches), and an alias named explicitly selects the
// address under that name. A C++ function answers to its demangled name
// ("ns::f(int)"), that name without parameters ("ns::f"), or its mangled
// one; the probe takes the form the description used, so the program's
// glob matches it and probefunc reads as the user wrote it.
std::optional<std::pair<std::string, std::string>> function_spelling(const std::string& pattern,
                                                                     const FunctionInfo& f) {
  if (pattern.empty()) return std::make_pair(f.name, f.raw_name);
  auto spell = [&](const std::string& name, const std::string& raw) -> std::optional<std::string> {
    if (glob_match(pattern, name)) return name;
    // A cold part's name without parameters is its parent's ("f" for
    // "f(int) [clone .cold]"): it never answers to it.
    std::string bare = f.cold_part ? name : elf::strip_parameters(name);
    if (glob_match(pattern, bare)) return bare;
    if (glob_match(pattern, raw)) return raw;
    return std::nullopt;
  };
  if (auto s = spell(f.name, f.raw_name)) return std::make_pair(*s, f.raw_name);
  for (const auto& a : f.aliases)
    if (auto s = spell(a.name, a.raw_name)) return std::make_pair(*s, a.raw_name);
  return std::nullopt;
}

// Fills arg0..arg9 at a function entry: rdi, rsi, rdx, rcx, r8, r9, then the
// stack above the return address (System V AMD64).
void fill_entry_args(HitContext& ctx, d::FireContext& fc) {
  const auto& r = ctx.regs();
  uint64_t regs[6] = {r.rdi, r.rsi, r.rdx, r.rcx, r.r8, r.r9};
  for (int i = 0; i < 6; ++i) fc.args[i] = regs[i];
  for (int i = 6; i < 10; ++i) {
    auto v = ctx.read_value<uint64_t>(r.rsp + 8 * static_cast<uint64_t>(i - 5));
    fc.args[i] = v ? *v : 0;
  }
}

// The profile provider's shortest interval, as DTrace's (profile_interval_min):
// tick-1us and profile-10000 are probes it does not have.
constexpr double kMinIntervalNs = 200e3;

// N[unit] after PREFIX: the interval in nanoseconds (a bare N or "hz" is a rate).
std::optional<double> interval_ns(const std::string& name, const std::string& prefix) {
  auto nu = count_and_unit(name, prefix);
  if (!nu) return std::nullopt;
  auto [n, unit] = *nu;
  double ns = 0;
  if (unit.empty() || unit == "hz") {
    ns = 1e9 / static_cast<double>(n);
  } else {
    auto per = unit_ns(unit);
    if (!per) return std::nullopt;
    ns = static_cast<double>(n) * *per;
  }
  if (ns < kMinIntervalNs) return std::nullopt;
  return ns;
}

Error no_profile_probe(const d::ProbeDescription& desc, const char* kind) {
  return Error("probe description '" + desc.text + "' matches no probe: the profile provider has " + kind +
                   "-N with N a rate (N, Nhz) or an interval (ns, us, ms, s, m, h, d), at most 5000 Hz "
                   "(every 200us); allow it with -Z [D_PDESC_ZERO]",
               ErrorKind::no_such_symbol);
}

// pid, pid1234, pid*: the pid provider (not pidgin, a USDT provider's name).
bool names_pid_provider(const d::ProbeDescription& desc) {
  return starts_with(desc.provider, "pid") && desc.provider.find_first_not_of("0123456789*?[]", 3) == std::string::npos;
}

}  // namespace

std::optional<uint64_t> tick_period_ns(const std::string& name) {
  auto ns = interval_ns(name, "tick-");
  if (!ns) return std::nullopt;
  return static_cast<uint64_t>(*ns);
}

std::optional<double> profile_rate_hz(const std::string& name) {
  auto ns = interval_ns(name, "profile-");
  if (!ns) return std::nullopt;
  return 1e9 / *ns;
}

std::vector<int> launch_syscalls(const std::vector<d::ClauseInfo>& clauses) {
  std::set<int> nrs;
  for (const auto& c : clauses)
    for (const auto& d : c.descriptions)
      if (provider_is(d, "syscall") && syscall_module_matches(d.module))
        for (int nr : syscalls::match_syscalls(d.function.empty() ? "*" : d.function)) nrs.insert(nr);
  return {nrs.begin(), nrs.end()};
}

Result<ReturnMechanism> parse_return_mechanism(const std::string& text) {
  if (text.empty() || text == "auto") return ReturnMechanism::automatic;
  if (text == "ret-site" || text == "retsite") return ReturnMechanism::ret_site;
  if (text == "hijack") return ReturnMechanism::hijack;
  return Error("unknown return probe mechanism '" + text + "'; use auto, ret-site or hijack", ErrorKind::usage);
}

Result<BackendChoice> parse_backend(const std::string& text) {
  if (text.empty() || text == "auto") return BackendChoice::automatic;
  if (text == "trap") return BackendChoice::trap;
  if (text == "jump") return BackendChoice::jump;
  return Error("unknown backend '" + text + "'; use auto, jump or trap", ErrorKind::usage);
}

std::string d_module_name(const ModuleInfo& m) { return m.is_main_executable ? "a.out" : m.name; }

Result<std::vector<PidProbe>> expand_pid(const d::ProbeDescription& desc, Session& s) {
  std::vector<PidProbe> out;
  std::string provider = "pid" + std::to_string(s.pid());
  if (!desc.provider.empty() && !glob_match(desc.provider, provider)) return out;
  std::vector<std::string> names;
  if (desc.name.empty() || has_glob(desc.name))
    names = select_names(desc.name, {"entry", "return"});
  else
    names.push_back(desc.name);
  for (const auto& m : s.modules()) {
    if (!module_matches(desc.module, m)) continue;
    auto fns = s.functions(m.path);
    if (!fns) return fns.error();
    for (const auto& f : *fns) {
      // One probe per address. A glob never selects a cold part (entered by
      // a jump, never called); a description naming one still does.
      bool named = !desc.function.empty() && !has_glob(desc.function);
      if (f.cold_part && !named) continue;
      auto spelling = function_spelling(desc.function, f);
      if (!spelling) continue;
      const auto& [function, raw_symbol] = *spelling;
      for (const auto& n : names) {
        PidProbe p;
        p.key = {provider, d_module_name(m), function, n};
        p.module_path = m.path;
        p.raw_symbol = raw_symbol;
        if (n == "return") {
          p.is_return = true;
        } else if (n != "entry") {
          if (!is_hex_offset(n)) continue;
          p.offset = std::stoull(n, nullptr, 16);
          if (f.size && p.offset >= f.size) continue;
        }
        out.push_back(std::move(p));
      }
    }
  }
  return out;
}

void Timeline::enter(const HitContext& ctx, const d::ProbeKey& key) {
  (void)writer->write(trace.enter(ctx.pid(), ctx.tid(), ctx.comm(), key.function,
                                  key.module.empty() ? key.provider : key.module, ctx.timestamp_ns()));
}

void Timeline::leave(const HitContext& ctx, const d::ProbeKey& key) {
  (void)writer->write(trace.leave(ctx.pid(), ctx.tid(), ctx.comm(), key.function, ctx.timestamp_ns()));
}

void Timeline::instant(const HitContext& ctx, const d::ProbeKey& key) {
  (void)writer->write(trace.instant(ctx.pid(), ctx.tid(), ctx.comm(), key.str(), key.provider, ctx.timestamp_ns()));
}

void Timeline::instant(const HitContext& ctx, std::string_view name, std::string_view category,
                       const std::vector<std::pair<std::string, std::string>>& args) {
  (void)writer->write(trace.instant(ctx.pid(), ctx.tid(), ctx.comm(), name, category, ctx.timestamp_ns(), args));
}

ArmProgress::ArmProgress(size_t total, double delay_s, bool enabled)
    : total_(total), delay_s_(delay_s), enabled_(enabled && total > 0 && isatty(STDERR_FILENO)),
      start_ns_(now_ns()) {}

void ArmProgress::finish() {
  if (shown_) std::fputs("\r\033[K", stderr);
  shown_ = false;
  enabled_ = false;
}

void ArmProgress::armed(size_t done) {
  if (!enabled_) return;
  const uint64_t now = now_ns();
  if (!shown_ && static_cast<double>(now - start_ns_) < delay_s_ * 1e9) return;
  // Redrawn at most ten times a second, and once complete.
  if (shown_ && now - last_ns_ < 100'000'000 && done != total_) return;
  std::fprintf(stderr, "\r\033[Kprobekit: matched %zu probe%s, armed %zu/%zu", total_, total_ == 1 ? "" : "s", done,
               total_);
  std::fflush(stderr);
  shown_ = true;
  last_ns_ = now;
}

ProbeBinder::ProbeBinder(d::Program& program, Session* session, DebugArgs& debug, BindOptions options)
    : program_(program), session_(session), debug_(debug), options_(options) {}

// Why a pid description matched nothing, as dt_pid.c says it (with its
// D_PROC_* tag), or nullopt when nothing more precise than D_PDESC_ZERO
// applies: the '-' function with a module other than a.out (D_PROC_LIB)
// or a name that is not one address (D_PROC_NAME); a name that is neither
// entry, return, a glob nor a hex offset (D_PROC_NAME); an offset past the
// end of every function named (D_PROC_OFF); a function that one named
// module does not have (D_PROC_FUNC).
std::optional<Error> pid_zero_cause(const d::ProbeDescription& desc, Session& s) {
  // Only a description of this process's provider: another process's
  // (pid$1 of a process probekit is not tracing) has its own cause.
  if (!glob_match(desc.provider, "pid" + std::to_string(s.pid()))) return std::nullopt;
  const std::string what = "probe description '" + desc.expanded + "': ";
  auto err = [&](const std::string& text, const char* tag) {
    return Error(what + text + " [" + tag + "]", ErrorKind::no_such_symbol);
  };
  if (desc.function == "-") {
    if (!desc.module.empty() && (has_glob(desc.module) || desc.module != "a.out"))
      return err("only the a.out module is valid with the '-' function", "D_PROC_LIB");
    if (desc.name.empty() || has_glob(desc.name))
      return err("only individual addresses may be specified with the '-' function", "D_PROC_NAME");
    return std::nullopt;
  }
  const bool one_name = !desc.name.empty() && !has_glob(desc.name) && desc.name != "entry" && desc.name != "return";
  if (one_name && !is_hex_offset(desc.name))
    return err("'" + desc.name + "' is an invalid probe name: use entry, return or an offset in hex", "D_PROC_NAME");
  if (desc.function.empty() || has_glob(desc.function)) return std::nullopt;
  bool found = false;
  uint64_t largest = 0;
  for (const auto& m : s.modules()) {
    if (!module_matches(desc.module, m)) continue;
    auto fns = s.functions(m.path);
    if (!fns) continue;
    for (const auto& f : *fns)
      if (function_spelling(desc.function, f)) {
        found = true;
        largest = std::max<uint64_t>(largest, f.size);
      }
  }
  if (!found && !desc.module.empty() && !has_glob(desc.module))
    return err("failed to look up '" + desc.function + "' in module '" + desc.module + "'", "D_PROC_FUNC");
  if (found && one_name && largest && std::stoull(desc.name, nullptr, 16) >= largest)
    return err("offset 0x" + desc.name + " is outside of function '" + desc.function + "' (" +
                   std::to_string(largest) + " bytes)",
               "D_PROC_OFF");
  return std::nullopt;
}

// DTrace's D_PDESC_ZERO, unless -Z.
Error ProbeBinder::no_match(const d::ProbeDescription& desc) {
  return Error("probe description '" + desc.expanded +
                   "' does not match any probes; check its fields (provider:module:function:name) or "
                   "allow it with -Z [D_PDESC_ZERO]",
               ErrorKind::no_such_symbol);
}

int ProbeBinder::bind_all() {
  int worst = exit_ok;
  if (options_.verbose && options_.agent && session_) {
    // -v: where each clause runs, and why not in the agent.
    const auto& clauses = program_.clauses();
    for (size_t i = 0; i < clauses.size(); ++i) {
      const std::string why = program_.clause_place(i);
      const auto& r = clauses[i].descriptions.front().range;
      report_note("clause " + std::to_string(i + 1) + " (line " + std::to_string(r.line) + ") runs " +
                  (why.empty() ? std::string("in the agent") : "in probekit: " + why));
    }
  }
  matched_.assign(program_.clauses().size(), 0);
  for (size_t ci = 0; ci < program_.clauses().size(); ++ci) {
    for (const auto& desc : program_.clauses()[ci].descriptions) {
      if (interrupted()) return worst;
      bool is_dtrace = provider_is(desc, "dtrace") ||
                       (desc.provider.empty() && (desc.name == "BEGIN" || desc.name == "END" ||
                                                  desc.name == "ERROR"));
      if (is_dtrace) {
        // The program fires BEGIN/END/ERROR itself; a description that
        // names none of them (foo:BEGIN, dtrace:::BEGINX) matches nothing.
        bool any = false;
        for (const char* n : {"BEGIN", "END", "ERROR"}) {
          const bool hit = desc.matches(d::ProbeKey{"dtrace", "", "", n});
          any = any || hit;
          matched_[ci] += hit ? 1 : 0;
        }
        if (!any && !options_.zero_ok) worst = std::max(worst, report("", no_match(desc)));
        continue;
      }

      Result<size_t> matched = size_t{0};
      const bool profile = provider_is(desc, "profile") ||
                           (desc.provider.empty() && (starts_with(desc.name, "tick-") || starts_with(desc.name, "profile-")));
      if (options_.kernel && options_.kernel->is_kernel(desc)) {
        matched = options_.kernel->bind(program_, desc);
      } else if (profile) {
        matched = starts_with(desc.name, "profile-") ? bind_profile(desc) : bind_tick(desc);
      } else if (!session_ && !names_pid_provider(desc)) {
        // No process: nothing but a pid description needs one. dtrace
        // finds no such probe (BEGIN::read:entry, pidgin:::entry): D_PDESC_ZERO.
        matched = size_t{0};
      } else if (provider_is(desc, "syscall")) {
        matched = bind_syscall(desc);
      } else if (desc.provider.empty() || starts_with(desc.provider, "pid")) {
        matched = bind_pid(desc);
      } else {
        matched = bind_usdt(desc);
      }
      if (interrupted()) return worst;
      if (!matched && profile && options_.zero_ok && matched.error().kind() == ErrorKind::no_such_symbol)
        continue;  // tick-1us under -Z: a probe the provider does not have
      if (!matched) {
        worst = std::max(worst, report("", matched.error()));
        continue;
      }
      matched_[ci] += *matched;
      if (*matched == 0 && !options_.zero_ok) worst = std::max(worst, report("", no_match(desc)));
    }
  }
  return worst;
}

Result<size_t> ProbeBinder::bind_tick(const d::ProbeDescription& desc) {
  auto period = tick_period_ns(desc.name);
  if (!period) return no_profile_probe(desc, "tick");
  auto reg = program_.register_probe({"profile", "", "", desc.name});
  if (!reg.id) return size_t{0};  // profile::tick-1sec (module "profile"), BEGIN:tick-1
  if (armed_.insert("profile:::" + desc.name).second) ticks_.push_back({reg.id, *period, now_ns() + *period});
  return size_t{1};
}

bool names_profile(const d::ProbeDescription& desc) {
  return (desc.provider.empty() || glob_match(desc.provider, "profile")) && starts_with(desc.name, "profile-");
}

Result<double> profile_rate(const d::ProbeDescription& desc) {
  auto hz = profile_rate_hz(desc.name);
  if (!hz) return no_profile_probe(desc, "profile");
  return *hz;
}

Result<size_t> ProbeBinder::bind_profile(const d::ProbeDescription& desc) {
  auto hz = profile_rate(desc);
  if (!hz) return hz.error();
  if (!session_)  // no target and no kernel provider (KernelProbes samples every CPU)
    return Error("probe description '" + desc.text + "' samples a process here; give -p PID or -c 'CMD ARGS'",
                 ErrorKind::usage);
  auto reg = program_.register_probe({"profile", "", "", desc.name});
  if (!reg.id) return size_t{0};
  if (!armed_.insert("profile:::" + desc.name).second) return size_t{1};
  d::Program* program = &program_;
  Session* session = session_;
  uint32_t id = reg.id;
  Timeline* timeline = options_.timeline;
  d::ProbeKey key{"profile", "", "", desc.name};
  auto added = session_->add_sampler(*hz, [program, session, id, timeline, key](HitContext& ctx) {
    if (timeline) timeline->instant(ctx, key);
    d::FireContext fc;
    fc.hit = &ctx;
    fc.args[0] = 0;               // DTrace: the kernel PC (never: a process is sampled)
    fc.args[1] = ctx.regs().rip;  // the user PC
    if (program->fire(id, fc)) session->stop();
  });
  if (!added) return std::move(added).error().context("probe description '" + desc.text + "'");
  return size_t{1};
}

Result<size_t> ProbeBinder::bind_syscall(const d::ProbeDescription& desc) {
  if (!session_)
    return Error("probe description '" + desc.text + "' needs a process: give -p PID or -c 'CMD ARGS'",
                 ErrorKind::usage);
  size_t matched = 0;
  auto names = select_names(desc.name, {"entry", "return"});
  for (int nr : syscalls::match_syscalls(desc.function.empty() ? "*" : desc.function)) {
    std::string fn(syscalls::syscall_name(nr));
    uint32_t ids[2] = {0, 0};  // entry, return
    for (const auto& n : names) {
      d::ProbeKey key{"syscall", kSyscallModule, fn, n};
      auto reg = program_.register_probe(key);
      if (!reg.id) continue;
      ++matched;
      if (armed_.insert(key.str()).second) ids[n == "return"] = reg.id;
    }
    if (!ids[0] && !ids[1]) continue;
    SyscallProbe probe;
    probe.numbers = {nr};
    probe.name = "syscall::" + fn;
    probe.destructive = program_.destructive();
    d::Program* program = &program_;
    Session* session = session_;
    Timeline* timeline = options_.timeline;
    d::ProbeKey call{"syscall", "", fn, ""};
    if (uint32_t id = ids[0]) {
      probe.entry_handler = [program, session, id, timeline, call](HitContext& ctx, const SyscallEvent& ev) {
        if (timeline) timeline->enter(ctx, call);
        d::FireContext fc;
        fc.hit = &ctx;
        for (size_t i = 0; i < ev.args.size(); ++i) fc.args[i] = ev.args[i];
        if (program->fire(id, fc)) session->stop();
      };
    }
    if (uint32_t id = ids[1]) {
      probe.return_handler = [program, session, id, timeline, call](HitContext& ctx, const SyscallEvent& ev) {
        if (timeline) timeline->leave(ctx, call);
        d::FireContext fc;
        fc.hit = &ctx;
        fc.args[0] = fc.args[1] = static_cast<uint64_t>(ev.retval);  // DTrace: both the return value
        fc.retval = ev.retval;
        fc.errno_value = ev.errno_value;
        if (program->fire(id, fc)) session->stop();
      };
    }
    auto added = session_->add_syscall_probe(std::move(probe));
    if (!added) return std::move(added).error().context("probe description '" + desc.text + "'");
  }
  return matched;
}

// The engine probe for one pid probe: handlers fill a d::FireContext as
// DTrace's pid provider defines its arguments and fire the program.
Probe ProbeBinder::pid_probe(const PidProbe& p, uint32_t id, std::shared_ptr<const ProbeParams> params) {
  Probe probe;
  probe.where.module = p.module_path;
  probe.where.symbol = p.raw_symbol;
  probe.where.offset = p.offset;
  probe.name = p.key.str();
  probe.destructive = program_.destructive();
  d::Program* program = &program_;
  Session* session = session_;
  Timeline* timeline = options_.timeline;
  const d::ProbeKey key = p.key;
  if (p.is_return) {
    probe.mechanism = options_.return_mechanism;
    // arg0 is the offset of the returning instruction (0 when the engine
    // hijacked the return address and cannot know it), arg1 and retval the
    // return value.
    probe.return_handler = [program, session, id, timeline, key](HitContext& ctx, void*) {
      if (timeline) timeline->leave(ctx, key);
      d::FireContext fc;
      fc.hit = &ctx;
      fc.args[0] = static_cast<uint64_t>(ctx.return_offset().value_or(0));
      fc.args[1] = ctx.regs().rax;
      fc.retval = static_cast<int64_t>(ctx.regs().rax);
      if (program->fire(id, fc)) session->stop();
    };
  } else {
    bool entry = p.offset == 0;
    probe.pre_handler = [program, session, id, entry, params, timeline, key](HitContext& ctx) {
      if (timeline && entry) timeline->enter(ctx, key);
      if (timeline && !entry) timeline->instant(ctx, key);
      d::FireContext fc;
      fc.hit = &ctx;
      if (entry) fill_entry_args(ctx, fc);
      if (entry && params) fill_params(ctx, *params, fc);
      if (program->fire(id, fc)) session->stop();
    };
  }
  return probe;
}

// The program's guard of a probe (d::Program::agent_guard) in the engine's terms.
std::vector<std::vector<Probe::GuardTerm>> guard_of(const d::Program& program, uint32_t id) {
  using Cond = Probe::GuardTerm::Cond;
  std::vector<std::vector<Probe::GuardTerm>> out;
  for (const auto& clause : program.agent_guard(id)) {
    auto& terms = out.emplace_back();
    for (const auto& t : clause) {
      Probe::GuardTerm g;
      g.reg = t.word;
      g.size = t.size;
      g.imm = t.imm;
      const bool s = t.is_signed;
      if (t.op == "==") g.cond = Cond::eq;
      else if (t.op == "!=") g.cond = Cond::ne;
      else if (t.op == "<") g.cond = s ? Cond::lt : Cond::ult;
      else if (t.op == "<=") g.cond = s ? Cond::le : Cond::ule;
      else if (t.op == ">") g.cond = s ? Cond::gt : Cond::ugt;
      else g.cond = s ? Cond::ge : Cond::uge;
      terms.push_back(g);
    }
  }
  return out;
}

// The probe runs its clauses' agent code instead of its handlers: at the
// entry (with the trampoline's guard) or at the function's returns.
void ProbeBinder::set_agent_code(Probe& probe, std::shared_ptr<const std::vector<uint8_t>> code, uint32_t id,
                                 bool is_return) {
  probe.pre_handler = nullptr;
  probe.return_handler = nullptr;
  probe.agent_overrides = program_.agent_overrides(id);  // override(): -w, which made the probe destructive
  probe.destructive = probe.agent_overrides && probe.destructive;
  probe.agent_code = std::move(code);
  probe.agent_at_return = is_return;
  if (is_return)
    probe.agent_reads_return_offset = program_.agent_reads_return_offset(id);
  else
    probe.agent_guard = guard_of(program_, id);
  probe.agent_output = agent_output_handler(id);
}

// What a probe's agent code asks the tracer to do (Probe::agent_output):
// the program prints it as its own clauses print.
std::function<void(const Probe::AgentOutput&)> ProbeBinder::agent_output_handler(uint32_t id) {
  if (!program_.agent_layout().output) return nullptr;
  d::Program* program = &program_;
  Session* session = session_;
  return [program, session, id](const Probe::AgentOutput& o) {
    d::Program::AgentHit h;
    h.pid = o.pid;
    h.cpu = o.cpu;
    h.tid = o.tid;
    h.timestamp_ns = o.timestamp_ns;
    h.items = o.items;
    h.bytes = o.bytes;
    h.nitems = o.nitems;
    if (program->agent_output(id, h)) session->stop();
  };
}

Result<std::shared_ptr<const std::vector<uint8_t>>> ProbeBinder::agent_code_for(uint32_t id,
                                                                              const std::vector<uint32_t>& clauses,
                                                                              const std::string& probe) {
  using Code = std::shared_ptr<const std::vector<uint8_t>>;
  const d::Program::AgentLayout& layout = program_.agent_layout();
  if (!options_.agent || !session_ || layout.part_bytes == 0) return Code{};
  // A clause that runs in the agent runs there for every probe it fires
  // for (its state lives there): a probe whose code cannot be made is an
  // error, never a silent split.
  bool any_ready = false;
  for (uint32_t ci : clauses)
    any_ready = any_ready || program_.clause_place(ci).empty();
  if (!any_ready) return Code{};
  std::string why;
  auto code = program_.agent_code(id, &why);
  if (!code)
    return Error("probe '" + probe + "': its clauses share state with clauses running in the agent, but " + why +
                     " (-x noagent runs every clause in probekit)",
                 ErrorKind::unsupported);
  if (!agent_state_set_) {
    Session::AgentState st;
    st.tables.resize(layout.aggs.size() * sizeof(pk_dagg));
    if (!st.tables.empty()) std::memcpy(st.tables.data(), layout.aggs.data(), st.tables.size());
    st.self_words = layout.self_words;
    st.part_bytes = layout.part_bytes;
    st.output = layout.output;
    st.global_words = layout.global_words;
    d::Program* program = &program_;
    st.init_globals = [program](uint64_t* words) { program->init_agent_globals(words); };
    PK_TRY(session_->set_agent_state(std::move(st)));
    Session* session = session_;
    program_.set_agent_parts([session] { return session->agent_parts(); });
    program_.set_agent_symbolizer(
        [session](const uint8_t* part, int pid, uint64_t addr) { return session->agent_symbolize(part, pid, addr); });
    program_.set_agent_globals([session] { return session->agent_globals(); });
    agent_state_set_ = true;
  }
  return std::make_shared<const std::vector<uint8_t>>(std::move(*code));
}

Result<size_t> ProbeBinder::bind_pid(const d::ProbeDescription& desc) {
  if (!session_ && desc.provider == "pid0")  // pid$target with no -p/-c: dt_pid.c's D_PROC_BADPID
    return Error("probe description '" + desc.text + "': pid0 does not contain a valid pid ($target is 0 " +
                     "without a process: give -p PID or -c 'CMD ARGS') [D_PROC_BADPID]",
                 ErrorKind::usage);
  if (!session_)
    return Error("probe description '" + desc.text + "' needs a process: give -p PID or -c 'CMD ARGS'",
                 ErrorKind::usage);
  auto probes = expand_pid(desc, *session_);
  if (!probes) return probes.error();
  // A glob arms what can be armed (DTrace's pid provider skips what it
  // cannot instrument); a named function must be armed or it is an error.
  bool globbed = desc.function.empty() || has_glob(desc.function);
  size_t matched = 0, skipped = 0, done = 0;
  ArmProgress progress(probes->size(), options_.progress_delay_s, !options_.quiet);
  for (const auto& p : *probes) {
    progress.armed(done++);
    if (interrupted()) break;  // a stop request: what is armed is restored at detach
    std::shared_ptr<const ProbeParams> params;
    if (options_.typed_args && p.offset == 0 && !p.is_return)
      params = lookup_probe_params(debug_, p.module_path, p.raw_symbol);
    auto reg = program_.register_probe(p.key, params ? params->types : std::vector<d::ProbeArg>{});
    if (!reg.id) continue;
    if (!armed_.insert(p.key.str()).second) {
      ++matched;
      continue;
    }
    Probe probe = pid_probe(p, reg.id, params);
    const bool counting = !p.is_return && !options_.timeline && program_.countable(reg.id);
    // override() where faking the return breaks the calling convention
    // (a double in xmm0): the tracer runs the clauses, and its override
    // reports the error at each firing, as without the agent.
    const bool overrides = !counting && program_.agent_overrides(reg.id);
    const bool override_refused = overrides && !check_override(debug_, p.module_path, p.raw_symbol);
    auto code = counting || p.offset || override_refused
                    ? Result<std::shared_ptr<const std::vector<uint8_t>>>(nullptr)
                    : agent_code_for(reg.id, reg.clauses, p.key.str());
    if (!code) return code.error();
    if (counting) {  // no handler: the engine counts, the program gets the total
      probe.pre_handler = nullptr;
      probe.destructive = false;
      probe.count_only = true;
    }
    d::RecordNeeds needs;
    if (*code) {  // the clauses run in the agent (the tracer runs the same code where no jump site can be)
      set_agent_code(probe, *code, reg.id, p.is_return);
    } else if (!counting && !p.is_return && !params && !probe.destructive && program_.recordable(reg.id, &needs)) {
      // The clauses run in the tracer on a record the agent writes at the
      // hit (a jump probe where eligible): the registers and the four
      // stack words fill_entry_args reads for arg6..arg9.
      Probe::Capture cap;
      for (int64_t k = 1; k <= 4; ++k) {
        Probe::CaptureRead r;
        r.reg = static_cast<int>(offsetof(user_regs_struct, rsp) / 8);
        r.derefs = {8 * k};
        cap.reads.push_back(std::move(r));
      }
      for (int w : needs.string_regs) {  // copyinstr(arg0) and the like
        Probe::CaptureRead r;
        r.reg = w;
        r.string = true;
        cap.reads.push_back(std::move(r));
      }
      probe.capture = std::move(cap);
    }
    auto added = session_->add(std::move(probe));
    if (added) {
      if (counting) counted_.push_back({*added, reg.id, 0});
      ++matched;
      if (options_.verbose)
        for (const auto& line : session_->describe(*added)) report_note(p.key.str() + ": " + line);
      continue;
    }
    if (globbed && added.error().is_usage()) {
      ++skipped;
      if (options_.verbose) report_note("skipped " + p.key.str() + ": " + added.error().message());
      continue;
    }
    return std::move(added).error().context("probe '" + p.key.str() + "'");
  }
  progress.armed(done);
  progress.finish();
  // A description naming one function of a module that is not loaded yet
  // arms when the module is loaded (dlopen): with -Z quietly, as DTrace's -Z
  // does; for a launched command (whose start-up libraries are all mapped
  // by now) with a warning naming the module.
  if (matched == 0 && (options_.zero_ok || options_.launched) && !interrupted() && !desc.module.empty() &&
      !has_glob(desc.module) &&
      !desc.function.empty() && !has_glob(desc.function)) {
    auto pending = bind_pending(desc);
    if (!pending) return pending.error();
    matched = *pending;
  }
  // Nothing matched (nor is pending): dt_pid.c's precise cause when it has one.
  if (matched == 0 && skipped == 0 && !options_.zero_ok && !interrupted() && starts_with(desc.provider, "pid"))
    if (auto cause = pid_zero_cause(desc, *session_)) return std::move(*cause);
  if (skipped && !options_.quiet && !interrupted())  // interrupted: a partial count says nothing
    report_note("description '" + desc.text + "': " + std::to_string(skipped) + " probe" +
                (skipped == 1 ? "" : "s") + " skipped: they cannot be probed safely (-v names them)");
  return matched;
}

std::vector<UsdtMatch> match_usdt(const d::ProbeDescription& desc, const std::vector<UsdtProbe>& probes, pid_t pid) {
  std::vector<UsdtMatch> out;
  for (const auto& p : probes) {
    std::string provider = p.provider + std::to_string(pid);
    if (!desc.provider.empty() && !glob_match(desc.provider, provider)) {
      if (!glob_match(desc.provider, p.provider)) continue;
      provider = p.provider;
    }
    d::ProbeKey key{provider, p.module, p.function, usdt_d_name(p.name)};
    d::ProbeDescription any = desc;
    any.provider = "";
    if (!any.matches(key)) continue;
    out.push_back({std::move(key), p});
  }
  return out;
}

Result<size_t> ProbeBinder::bind_usdt(const d::ProbeDescription& desc) {
  if (!session_)
    return Error("probe description '" + desc.text + "' needs a process: give -p PID or -c 'CMD ARGS'",
                 ErrorKind::usage);
  auto all = usdt_probes(*session_);
  if (!all) return all.error();
  bool provider_known = false;
  for (const auto& p : *all) {
    provider_known = provider_known || glob_match(desc.provider, p.provider + std::to_string(session_->pid())) ||
                     glob_match(desc.provider, p.provider);
  }
  // A module named (by file name or path) that is not loaded yet (dlopen):
  // its notes are read from the file it will be loaded from and its probes
  // arm when it is loaded.
  const std::vector<ModuleInfo> mapped = session_->modules();
  const bool unloaded = !desc.module.empty() && !has_glob(desc.module) &&
                        std::none_of(mapped.begin(), mapped.end(),
                                     [&](const ModuleInfo& m) { return m.named_by(desc.module); });
  std::optional<std::string> file;
  if (unloaded && (options_.zero_ok || options_.launched)) file = find_unloaded_module(*session_, desc.module);
  if (file) {
    auto later = usdt_probes_of(*file, file->substr(file->rfind('/') + 1));
    if (!later) return std::move(later).error().context("probe description '" + desc.text + "'");
    auto n = bind_usdt_probes(desc, *later, true);
    if (n && *n && !options_.zero_ok)
      report_warning("", "description '" + desc.text + "': module '" + desc.module +
                             "' is not loaded; its probes arm if the program loads it (-Z: no warning)");
    return n;
  }
  if (!provider_known) {
    return Error("probe description '" + desc.text + "': provider '" + desc.provider +
                     "' is not available; probekit has pid, syscall, profile, dtrace, tracepoint, proc, sched and the USDT providers of "
                     "the process's objects (probekit -l -n '" + desc.provider + ":::' lists them; a library "
                     "loaded later by dlopen is named by its file name in the module field)",
                 ErrorKind::unsupported);
  }
  return bind_usdt_probes(desc, *all, false);
}

Result<size_t> ProbeBinder::bind_usdt_probes(const d::ProbeDescription& desc, const std::vector<UsdtProbe>& probes,
                                             bool pending) {
  size_t matched = 0;
  for (auto& [key, p] : match_usdt(desc, probes, session_->pid())) {
    if (interrupted()) break;
    if (!p.args_error.empty()) {
      return Error("probe '" + key.str() + "': " + p.args_error, ErrorKind::unsupported);
    }
    std::vector<d::ProbeArg> types;
    for (const auto& a : p.args) {
      d::ProbeArg t;
      t.c_type = std::string(a.is_signed ? "int" : "uint") + std::to_string(a.size * 8) + "_t";
      t.size = a.size;
      t.is_signed = a.is_signed;
      types.push_back(std::move(t));
    }
    auto reg = program_.register_probe(key, types);
    if (!reg.id) continue;
    if (!armed_.insert(key.str() + "@" + std::to_string(p.pc) + p.module_path).second) {
      ++matched;
      continue;
    }
    Probe probe = usdt_engine_probe(p);
    probe.name = key.str();
    probe.allow_pending = pending;
    probe.destructive = program_.destructive();
    if (!options_.timeline && program_.countable(reg.id)) {
      probe.count_only = true;  // the engine counts (a jump probe where eligible)
      probe.destructive = false;
    } else {
      d::Program* program = &program_;
      Session* session = session_;
      auto shared = std::make_shared<const UsdtProbe>(std::move(p));
      uint32_t id = reg.id;
      Timeline* timeline = options_.timeline;
      d::ProbeKey site_key = key;
      probe.pre_handler = [program, session, id, shared, timeline, site_key](HitContext& ctx) {
        if (timeline) timeline->instant(ctx, site_key);
        d::FireContext fc;
        fc.hit = &ctx;
        for (size_t i = 0; i < shared->args.size() && i < 10; ++i) {
          auto v = usdt_arg(*shared, i, ctx);
          fc.args[i] = fc.params[i] = v ? *v : 0;
        }
        if (program->fire(id, fc)) session->stop();
      };
    }
    const bool counting = probe.count_only;
    auto added = session_->add(std::move(probe));
    if (!added) return std::move(added).error().context("probe '" + key.str() + "'");
    if (counting) counted_.push_back({*added, reg.id, 0});
    ++matched;
    if (options_.verbose)
      for (const auto& line : session_->describe(*added)) report_note(key.str() + ": " + line);
  }
  return matched;
}

void ProbeBinder::stop_at_exit() {
  if (!session_) return;
  session_->stop_agent_clauses();
  for (auto& c : counted_)
    if (!c.final_hits) c.final_hits = session_->stats(c.engine_id).hits;
}

void ProbeBinder::flush_counts() {
  for (auto& c : counted_) {
    const uint64_t now = session_->stats(c.engine_id).hits;
    const uint64_t hits = c.final_hits ? std::min(now, *c.final_hits) : now;
    if (hits > c.flushed) program_.fire_counted(c.d_id, hits - c.flushed);
    c.flushed = std::max(c.flushed, hits);
  }
}

Result<size_t> ProbeBinder::bind_pending(const d::ProbeDescription& desc) {
  std::string provider = "pid" + std::to_string(session_->pid());
  for (const auto& m : session_->modules())
    if (module_matches(desc.module, m)) return size_t{0};  // loaded: the function is not there
  std::vector<std::string> names;
  if (desc.name.empty() || has_glob(desc.name))
    names = select_names(desc.name, {"entry", "return"});
  else if (desc.name == "entry" || desc.name == "return" || is_hex_offset(desc.name))
    names.push_back(desc.name);
  size_t armed = 0;
  for (const auto& n : names) {
    d::ProbeKey key{provider, desc.module, desc.function, n};
    auto reg = program_.register_probe(key);
    if (!reg.id || !armed_.insert(key.str()).second) continue;
    // Until it loads, the module is known only by the name the user gave.
    PidProbe p{key, desc.module, desc.function, 0, n == "return"};
    if (n != "entry" && n != "return") p.offset = std::stoull(n, nullptr, 16);
    Probe probe = pid_probe(p, reg.id, nullptr);
    probe.allow_pending = true;
    if (p.is_return || !program_.countable(reg.id)) {
      auto code = agent_code_for(reg.id, reg.clauses, key.str());
      if (!code) return code.error();
      if (*code) set_agent_code(probe, *code, reg.id, p.is_return);
    }
    auto added = session_->add(std::move(probe));
    if (!added) return std::move(added).error().context("probe '" + key.str() + "'");
    ++armed;
  }
  if (armed && !options_.zero_ok)
    report_warning("", "description '" + desc.text + "': module '" + desc.module +
                           "' is not loaded; its probes arm if the program loads it (-Z: no warning)");
  return armed;
}

}  // namespace probekit::cli
