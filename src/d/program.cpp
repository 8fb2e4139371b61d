// d/program.cpp — compile() and the firing protocol: which clauses run for a
// probe, the probe-line prefix, speculation buffers, faults and ERROR.
#include "d/program.h"
#include "d/system_types.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>

#include "d/agent_codegen.h"
#include "d/builtins.h"
#include "d/compiler.h"
#include "d/parser.h"
#include "d/passes.h"
#include "d/runtime.h"
#include "util/fd.h"
#include "util/strings.h"

namespace probekit::d {

// --- sinks and host defaults --------------------------------------------------------

Status OutputSink::reopen(const std::string&) {
  return Error("freopen() is not supported by this output", ErrorKind::unsupported);
}
Status OutputSink::truncate() {
  return Error("ftruncate() is not supported by this output", ErrorKind::unsupported);
}

void FileSink::out(std::string_view text) { std::fwrite(text.data(), 1, text.size(), out_); }
void FileSink::err(std::string_view text) { std::fwrite(text.data(), 1, text.size(), err_); }
void FileSink::flush() {
  std::fflush(out_);
  std::fflush(err_);
}

namespace {

uint64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

uint32_t proc_status_id(int pid, const char* field) {
  static std::map<std::pair<int, std::string>, uint32_t> cache;
  auto key = std::make_pair(pid, std::string(field));
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  uint32_t v = 0;
  while (std::getline(in, line)) {
    if (starts_with(line, field)) {
      auto words = split_ws(line.substr(std::strlen(field)));
      if (!words.empty()) v = static_cast<uint32_t>(parse_uint(words[0]).value_or(0));
      break;
    }
  }
  cache[key] = v;
  return v;
}

}  // namespace

uint64_t Host::monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }
uint64_t Host::walltime_ns() { return clock_ns(CLOCK_REALTIME); }
int Host::tracer_pid() { return static_cast<int>(getpid()); }
uint32_t Host::uid_of(int pid) { return proc_status_id(pid, "Uid:"); }
uint32_t Host::gid_of(int pid) { return proc_status_id(pid, "Gid:"); }

namespace {

int64_t field_or(const std::vector<std::string>& f, size_t i, int64_t dflt) {
  if (i >= f.size()) return dflt;
  return parse_int(f[i]).value_or(dflt);
}

}  // namespace

ProcInfo Host::proc_info(int pid, int tid) {
  ProcInfo p;
  p.pid = pid;
  const std::string dir = "/proc/" + std::to_string(pid);
  auto stat = read_stat_fields(dir + "/stat");
  p.ppid = static_cast<int>(field_or(stat, 1, 0));
  p.pgid = static_cast<int>(field_or(stat, 2, 0));
  p.sid = static_cast<int>(field_or(stat, 3, 0));
  p.nlwp = static_cast<int>(field_or(stat, 17, 1));
  const uint64_t start_stack = static_cast<uint64_t>(field_or(stat, 25, 0));
  if (auto status = read_file(dir + "/status")) {
    for (const auto& line : split(*status, '\n')) {
      const bool is_uid = starts_with(line, "Uid:"), is_gid = starts_with(line, "Gid:");
      if (!is_uid && !is_gid) continue;
      auto ids = split_ws(std::string_view(line).substr(4));
      uint32_t real = ids.size() > 0 ? static_cast<uint32_t>(parse_uint(ids[0]).value_or(0)) : 0;
      uint32_t eff = ids.size() > 1 ? static_cast<uint32_t>(parse_uint(ids[1]).value_or(0)) : 0;
      (is_uid ? p.uid : p.gid) = real;
      (is_uid ? p.euid : p.egid) = eff;
    }
  }
  if (auto cmdline = read_file(dir + "/cmdline")) {
    std::string args = *cmdline;
    if (!args.empty() && args.back() == '\0') args.pop_back();
    if (!cmdline->empty()) p.argc = static_cast<int>(std::count(args.begin(), args.end(), '\0')) + 1;
    std::replace(args.begin(), args.end(), '\0', ' ');
    p.psargs = args.substr(0, 79);
  }
  // The kernel leaves argc at the stack's start, then argv[], a null,
  // envp[].
  if (start_stack != 0) {
    p.argv = start_stack + 8;
    p.envp = start_stack + 8 * (static_cast<uint64_t>(p.argc) + 2);
  }
  auto task = read_stat_fields(dir + "/task/" + std::to_string(tid) + "/stat");
  if (!task.empty() && !task[0].empty()) p.state = task[0][0];
  p.prio = static_cast<int>(field_or(task, 15, 20)) + 100;  // field 18 is prio - MAX_RT_PRIO
  return p;
}

std::vector<uint64_t> Host::user_stack(const HitContext& hit, int max_frames) {
  // Frame-pointer walk: good for code built with -fno-omit-frame-pointer;
  // the engine may override with a DWARF unwinder.
  std::vector<uint64_t> pcs;
  const auto& regs = hit.regs();
  pcs.push_back(regs.rip);
  uint64_t fp = regs.rbp;
  while (static_cast<int>(pcs.size()) < max_frames && fp != 0) {
    auto ret = hit.read_value<uint64_t>(fp + 8);
    auto next = hit.read_value<uint64_t>(fp);
    if (!ret || !next || *ret == 0) break;
    pcs.push_back(*ret);
    if (*next <= fp) break;
    fp = *next;
  }
  return pcs;
}

std::vector<std::string> Host::inline_frames(const HitContext&, uint64_t) { return {}; }
std::vector<std::string> Host::inline_frames_at(const std::string&, uint64_t) { return {}; }

Status Host::stop(FireContext&) {
  return Error("stop() needs the probe engine", ErrorKind::unsupported);
}
Status Host::raise(FireContext&, int) {
  return Error("raise() needs the probe engine", ErrorKind::unsupported);
}
Status Host::system(const std::string&) {
  return Error("system() needs the probe engine", ErrorKind::unsupported);
}
Status Host::override_return(FireContext&, int64_t) {
  return Error("override() needs the probe engine", ErrorKind::unsupported);
}
Status Host::chill(FireContext&, uint64_t ns) {
  struct timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  return {};
}
uint64_t Host::random_seed() { return clock_ns(CLOCK_MONOTONIC) | 1; }

int32_t Host::cpu_chip(int cpu) {
  if (cpu < 0) return 0;
  auto it = chips_.find(cpu);
  if (it != chips_.end()) return it->second;
  int32_t chip = 0;
  const std::string path = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/physical_package_id";
  if (FILE* f = std::fopen(path.c_str(), "re")) {
    if (std::fscanf(f, "%d", &chip) != 1) chip = 0;
    std::fclose(f);
  }
  chips_[cpu] = chip;
  return chip;
}

bool ProbeDescription::matches(const ProbeKey& key) const {
  auto field = [](const std::string& pattern, const std::string& value, bool is_module) {
    if (pattern.empty()) return true;
    if (glob_match(pattern, value)) return true;
    // DTrace: a module may be named by its basename up to a '.' suffix
    // ("libc" for "libc.so.6") or by its full path.
    if (is_module && !has_glob(pattern)) {
      if (starts_with(value, pattern + ".")) return true;
      auto slash = pattern.rfind('/');
      if (slash != std::string::npos && pattern.substr(slash + 1) == value) return true;
    }
    return false;
  };
  return field(provider, key.provider, false) && field(module, key.module, true) &&
         field(function, key.function, false) && field(name, key.name, false);
}

// --- Exec ---------------------------------------------------------------------------------

std::vector<Value>* Exec::thread_vars(bool create) {
  if (self) return self;
  auto& tv = rt.thread_vars;
  auto it = tv.find(tid);
  if (it == tv.end()) {
    if (!create) return nullptr;
    // Each self-> variable of the thread is a dynamic variable, charged
    // to dynvarsize when a non-zero value is stored in it (SelfVar).
    std::vector<Value> slots;
    for (const auto& d : rt.symbols.thread_vars) {
      Value v;
      if (d.type.is_string()) {
        v = Value::string("");
        v.i = 1;  // never stored: the NULL string (compiler.cpp's kNullString), as dtrace reads it
      }
      else if (d.type.kind == Type::Kind::stack) v.kind = Value::Kind::stack;
      else if (d.type.kind == Type::Kind::symbol) v.kind = Value::Kind::symbol;
      else v = Value::integer(0, d.type.size ? d.type.size : 8, d.type.is_signed);
      slots.push_back(std::move(v));
    }
    rt.thread_live[tid].assign(slots.size(), 0);
    it = tv.emplace(tid, std::move(slots)).first;
  }
  self = &it->second;
  self_live = &rt.thread_live[tid];
  return self;
}

void Exec::fault(FaultKind kind, uint64_t address, std::string what) const {
  throw Fault{kind, address, std::move(what)};
}

std::string render_trace(const Value& v, bool quiet) {
  char buf[64];
  switch (v.kind) {
  case Value::Kind::floating:  // dtrace(1) prints a float's bits as an unsigned integer
  case Value::Kind::integer: {
    if (quiet) return v.is_signed ? std::to_string(v.i) : std::to_string(v.u());
    // dtrace-utils' dt_print_trace: the width of the type's largest value
    // (" %19ld", " %20lu", " %10d", " %5hd", " %3hhd").
    int width = v.size == 8 ? (v.is_signed ? 19 : 20) : v.size == 4 ? 10 : v.size == 2 ? 5 : 3;
    if (v.is_signed) std::snprintf(buf, sizeof buf, " %*lld", width, static_cast<long long>(v.i));
    else std::snprintf(buf, sizeof buf, " %*llu", width, static_cast<unsigned long long>(v.u()));
    return buf;
  }
  case Value::Kind::string:
  case Value::Kind::symbol: {
    // dt_print_trace's "  %-33s" for a string; a symbol's record is
    // printed "  %-50s" even under -q (dt_print_usym and friends).
    const size_t width = v.kind == Value::Kind::symbol ? 50 : 33;
    if (quiet && v.kind == Value::Kind::string) return v.s;
    std::string out = "  " + v.s;
    if (v.s.size() < width) out.append(width - v.s.size(), ' ');
    return out;
  }
  case Value::Kind::stack: {
    std::string out = "\n";
    for (const auto& frame : split(v.s, '\n'))
      if (!frame.empty()) out += std::string(14, ' ') + frame + "\n";
    return out;
  }
  }
  return {};
}

// --- Runtime ------------------------------------------------------------------------------

namespace {

Value zero_value(const Type& t) {
  Value v;
  if (t.is_string()) v = Value::string("");
  else if (t.kind == Type::Kind::stack) v.kind = Value::Kind::stack;
  else if (t.kind == Type::Kind::symbol) v.kind = Value::Kind::symbol;
  else v = Value::integer(0, t.size ? t.size : 8, t.is_signed && t.kind == Type::Kind::integer);
  return v;
}

size_t option_size(const Symbols& s, const char* name, size_t fallback) {
  auto it = s.options.find(name);
  if (it == s.options.end()) return fallback;
  auto v = d::option_size(it->second);  // checked by the options pass
  return v ? static_cast<size_t>(*v) : fallback;
}

}  // namespace

Runtime::Runtime(Symbols syms, const CompileOptions& options) : symbols(std::move(syms)) {
  for (const auto& g : symbols.globals) globals.push_back(zero_value(g.type));
  arrays.resize(symbols.globals.size());
  for (const auto& c : symbols.clause_vars) clause_vars.push_back(zero_value(c.type));
  for (const auto& a : symbols.aggs) {
    auto made = Aggregation::make(a.name, a.func, a.params);
    if (!made) made = Aggregation::make(a.name, AggFunc::count);  // sema validated already
    aggs.push_back(std::move(*made));
  }
  agg_printed.assign(aggs.size(), false);
  nspec = static_cast<int>(option_size(symbols, "nspec", 1));
  specs.resize(static_cast<size_t>(std::max(nspec, 0)));
  strsize = option_size(symbols, "strsize", 256);
  printsize = print_size(symbols.options.count("printsize") ? symbols.options.at("printsize") : "");
  specsize = option_size(symbols, "specsize", 0);
  bufsize = option_size(symbols, "bufsize", 4u << 20);
  if (auto it = symbols.options.find("aggrate"); it != symbols.options.end())
    aggrate_ns = option_rate_ns(it->second).value_or(0);
  consume_wake_ns = std::min<uint64_t>(aggrate_ns, 1'000'000'000);  // statusrate's default 1 s
  if (auto it = symbols.options.find("switchrate"); it != symbols.options.end())
    if (auto sw = option_rate_ns(it->second); sw && *sw > 0) consume_wake_ns = std::min(consume_wake_ns, *sw);
  ustackframes = static_cast<int>(option_size(symbols, "ustackframes", 100));
  // maxframes bounds every user stack walk: ustack(N), ustackframes, ustackdepth.
  if (symbols.options.count("maxframes")) {
    ustackframes_max = static_cast<int>(std::min<size_t>(option_size(symbols, "maxframes", 1000), 1000));
    ustackframes = std::min(ustackframes, ustackframes_max);
  }
  scratchsize = std::min(option_size(symbols, "scratchsize", kScratchSize), size_t{1} << 26);  // 64 MiB at most
  // DTrace's defaults: aggsize 4m, dynvarsize 1m (SpaceBudget's rule).
  for (SpaceBudget* b : {&agg_budget, &dyn_budget}) {
    b->strsize = strsize;
    b->stack_bytes = 8 * (static_cast<uint64_t>(std::max(ustackframes, 0)) + 1);
  }
  agg_budget.limit = option_size(symbols, "aggsize", 4 << 20);
  dyn_budget.limit = option_size(symbols, "dynvarsize", 1 << 20);
  dyn_elem = dynamic_variable_bytes(symbols, strsize, dyn_budget.stack_bytes);
  for (auto& a : aggs) a.set_budget(&agg_budget);
  quiet_ = symbols.options.count("quiet") > 0;
  rawbytes = symbols.options.count("rawbytes") > 0;
  for (auto& a : aggs) a.set_sort(&agg_sort);
  apply_sort_options();
  flow_indent = symbols.options.count("flowindent") > 0;
  format_ = options.format;
  if (auto f = symbols.options.find("aggfmt"); f != symbols.options.end()) folded_ = f->second == "folded";
  default_sink = std::make_unique<FileSink>(stdout, stderr);
  sink = default_sink.get();
  default_host = std::make_unique<Host>();
  host = default_host.get();
  rand_state = 0x9E3779B97F4A7C15ULL;
}

namespace {
// DTrace's dt_flowindent rule: "entry" or a name ending in "-entry" enters,
// "return" or "-return" returns ("carpentry" does neither).
ProbeEntry::Flow flow_of(const std::string& name) {
  auto is = [&](std::string_view word) {
    if (name == word) return true;
    return name.size() > word.size() + 1 && name.compare(name.size() - word.size(), word.size(), word) == 0 &&
           name[name.size() - word.size() - 1] == '-';
  };
  if (is("entry")) return ProbeEntry::Flow::entry;
  if (is("return")) return ProbeEntry::Flow::ret;
  return ProbeEntry::Flow::none;
}
}  // namespace

uint32_t Runtime::register_probe(const ProbeKey& key, std::vector<ProbeArg> args, std::vector<ProbeField> fields) {
  std::string k = key.str();
  auto it = probe_ids.find(k);
  if (it != probe_ids.end()) return probes[it->second - 1].clauses.empty() ? 0 : it->second;
  ProbeEntry e;
  e.id = static_cast<uint32_t>(probes.size() + 1);
  e.key = key;
  e.probe_text = k;
  e.args = std::move(args);
  e.fields = std::move(fields);
  e.flow = flow_of(key.name);
  for (uint32_t i = 0; i < clause_info.size(); ++i) {
    for (const auto& d : clause_info[i].descriptions) {
      if (d.matches(key)) {
        e.clauses.push_back(i);
        e.epids.push_back(next_epid++);
        break;
      }
    }
  }
  probe_ids[k] = e.id;
  probes.push_back(e);
  return e.clauses.empty() ? 0 : e.id;
}

void Runtime::emit_prefix(Exec& x) {
  if (x.prefix_done) return;
  x.prefix_done = true;
  if (flow_indent && !json()) {
    emit_flow_prefix(x);
    return;
  }
  if (quiet_ || json()) return;
  char buf[160];
  if (x.spec <= 0) emit_header(*x.out);
  int cpu = x.ctx.hit ? x.ctx.hit->cpu() : x.ctx.cpu;
  std::string fn = x.probe.key.function + ":" + x.probe.key.name;
  std::snprintf(buf, sizeof buf, "%3d %6u %32s ", cpu, x.probe.id, fn.c_str());
  *x.out += buf;
}

// -F, as dtrace(1)'s chew() with dt_flowindent(): a "CPU FUNCTION" header,
// then "-> func" at an entry and "<- func" at a return, indented two columns
// per level of the thread's depth; other probes "| func:name". The depth is
// per thread (DTrace keeps it per CPU buffer, which for one traced thread is
// the same). A probe firing several clauses moves the depth once, at its
// first printing clause; the others print "| func:name" at the new depth.
// Printed even with -q, as dtrace does.
void Runtime::emit_flow_prefix(Exec& x) {
  char buf[160];
  if (x.spec <= 0) emit_header(*x.out);
  int& depth = flow_depth[x.tid];
  auto flow = flow_applied ? ProbeEntry::Flow::none : x.probe.flow;
  if (flow == ProbeEntry::Flow::ret && depth > 0) depth -= 2;
  std::string name(static_cast<size_t>(depth), ' ');
  switch (flow) {
  case ProbeEntry::Flow::entry: name += " -> " + x.probe.key.function; break;
  case ProbeEntry::Flow::ret: name += " <- " + x.probe.key.function; break;
  case ProbeEntry::Flow::none: name += "| " + x.probe.key.function + ":" + x.probe.key.name; break;
  }
  if (flow == ProbeEntry::Flow::entry) depth += 2;
  flow_applied = true;
  int cpu = x.ctx.hit ? x.ctx.hit->cpu() : x.ctx.cpu;
  std::snprintf(buf, sizeof buf, "%3d %-41s ", cpu, name.c_str());
  *x.out += buf;
}

// dtrace(1)'s heading, before the first probe line it prints. Not into a
// speculation buffer: chew() prints it when a record reaches the consumer,
// so for speculative lines at their commit (and never for a speculation
// dropped or discarded).
void Runtime::emit_header(std::string& out) {
  if (header_done) return;
  if (flow_indent && !json()) {
    header_done = true;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%3s %-41s\n", "CPU", "FUNCTION");
    out += buf;
  } else if (!quiet_ && !json()) {
    header_done = true;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%3s %6s %32s\n", "CPU", "ID", "FUNCTION:NAME");
    out += buf;
  }
}

void Runtime::snap_aggregations(uint64_t now, uint64_t due_at) {
  if (!aggrate_ns) return;
  if (lastagg_ns != 0) {
    if (due_at < lastagg_ns + aggrate_ns) return;
    lastagg_ns += (due_at - lastagg_ns) / aggrate_ns * aggrate_ns;
  } else {
    lastagg_ns = now;
  }
  sync();
  agg_snapshot = aggs;
}

void Runtime::emit(Exec& x, std::string_view text) { x.out->append(text); }

// exit() moves tracing from active to draining, as dtrace-utils' activity
// state does (dt_state.h): each clause starts only while the state is the
// one its probe runs in (dt_cg_call_clause), so after exit() the rest of
// that firing's clauses and every later firing are skipped, except END,
// which runs while draining (an exit() there changes nothing), and ERROR,
// whose clauses dtrace-utils calls unconditionally. The clause calling
// exit() runs to its end.
bool Runtime::fire(uint32_t id, FireContext& ctx) {
  if (id == 0 || id > probes.size()) return exit_requested;
  const ProbeEntry& p = probes[id - 1];
  if (p.clauses.empty()) return exit_requested;
  const bool runs_draining = id == 2 || id == 3;  // END, ERROR
  if (exit_requested && !runs_draining) return true;
  for (size_t i = 0; i < clause_vars.size(); ++i) {
    if (clause_vars[i].kind == Value::Kind::integer) clause_vars[i].i = 0;
    else clause_vars[i].s.clear();
  }
  Exec x{*this, ctx, p};
  flow_applied = false;
  x.now = ctx.hit ? ctx.hit->timestamp_ns() : host->monotonic_ns();
  x.tid = ctx.hit ? ctx.hit->tid() : host->tracer_pid();
  // Not again for ERROR fired from inside a clause: the outer firing's
  // stores are not given back yet.
  const bool outer = !firing_;
  firing_ = true;
  if (outer) principal_used = 0;  // the consumer has read the buffer since the last firing
  if (outer && before_fire) before_fire();
  for (size_t i = 0; i < p.clauses.size(); ++i) {
    if (exit_requested && !runs_draining) break;
    x.epid = p.epids[i];
    run_clause(x, p.clauses[i]);
  }
  if (outer && after_fire) after_fire();
  if (outer) firing_ = false;
  return exit_requested;
}

void Runtime::run_clause(Exec& x, uint32_t ci) {
  const CompiledClause& c = clauses[ci];
  ++fires;
  std::string out;
  x.out = &out;
  x.action = 0;
  x.spec = 0;
  x.prefix_done = false;
  // alloca() memory lives for its clause (dtrace-utils' scratch space is
  // the clause's): the next clause allocates from the start again, and a
  // pointer kept from an earlier clause reads past what is allocated, a
  // bad address.
  x.scratch_mem.clear();
  x.string_mem.clear();
  try {
    if (c.predicate && c.predicate->eval_int(x) == 0) return;
    if (c.empty) emit_prefix(x);
    for (size_t i = 0; i < c.body.size(); ++i) {
      x.action = static_cast<int>(i + 1);
      c.body[i]->exec(x);
      // speculate() of no speculation (0, discarded, committed): dtrace-utils
      // leaves the clause there, its later statements not run.
      if (x.spec < 0) return;
    }
  } catch (const Fault& f) {
    report_fault(x.probe, x.epid, x.action, f, x.ctx);
    return;
  } catch (const ClauseDrop&) {
    return;  // a dynamic variable drop: the clause and its output end there
  }
  // A clause whose only action is speculate() records its probe in the
  // speculation (dt_cg.c: no non-speculative action is the default action,
  // into the speculation buffer): its line appears when it is committed.
  if (x.spec > 0 && !x.prefix_done && c.speculates_only) emit_prefix(x);
  // An empty clause under -F -q prints only the flow prefix: end its line.
  if (x.prefix_done && (!quiet_ || (flow_indent && c.empty)) && !json()) out += "\n";
  if (out.empty()) return;
  if (x.spec > 0) {
    std::string& buffer = specs[static_cast<size_t>(x.spec - 1)].buffer;
    if (specsize && buffer.size() + out.size() > specsize) ++spec_drops;  // DTrace's speculative drop
    else buffer += out;
  }
  else if (x.spec == 0) {
    const uint64_t record = kRecordHeader + c.record_strings * uint64_t{strsize} + c.record_values * uint64_t{8};
    if (bufsize && principal_used + record > bufsize) {
      ++principal_drops;  // dtrace-utils: the output buffer is full, the record is lost
      return;
    }
    principal_used += record;
    sink->out(out);
  }
}

void Runtime::replay_clause(Exec& x, const std::function<void(Exec&)>& run, const Fault* fault) {
  std::string out;
  x.out = &out;
  x.spec = 0;
  x.prefix_done = false;
  if (fault) {
    report_fault(x.probe, x.epid, x.action, *fault, x.ctx);
    return;
  }
  try {
    run(x);
  } catch (const Fault& f) {
    report_fault(x.probe, x.epid, x.action, f, x.ctx);
    return;
  } catch (const ClauseDrop&) {
    return;
  }
  if (x.prefix_done && !quiet_ && !json()) out += "\n";
  if (!out.empty()) sink->out(out);
}

void Runtime::apply_sort_options() {
  const auto& o = symbols.options;
  auto position = [&](const char* name) -> size_t {
    auto it = o.find(name);
    return it == o.end() ? 0 : static_cast<size_t>(d::option_size(it->second).value_or(0));
  };
  agg_sort.by_key = o.count("aggsortkey") > 0;
  agg_sort.reverse = o.count("aggsortrev") > 0;
  agg_sort.keypos = position("aggsortkeypos");
  agg_sort.valpos = position("aggsortpos");
}

// The clause's place in the program (dt_clause_N, from 0).
static size_t clause_index(const ProbeEntry& p, uint32_t epid) {
  size_t clause = 0;
  for (size_t i = 0; i < p.epids.size(); ++i)
    if (p.epids[i] == epid) clause = p.clauses[i];
  return clause;
}

std::string Runtime::clause_where(const Exec& x) const {
  return "error in dt_clause_" + std::to_string(clause_index(x.probe, x.epid)) + " for probe ID " +
         std::to_string(x.probe.id) + " (" + x.probe.probe_text + ")";
}

void Runtime::report_fault(const ProbeEntry& p, uint32_t epid, int action, const Fault& f, FireContext&) {
  ++errors;
  if (in_error) return;  // a fault in an ERROR clause is not reported again
  const size_t clause = clause_index(p, epid);  // the faulting clause's place in the program
  // dtrace-utils' ERROR arguments: arg1 the probe's ID, arg2 the clause's
  // statement ID (its place in the program), arg3 the BPF pc, arg4 the
  // fault (DTRACEFLT_*), arg5 the address.
  const ProbeEntry& err = probes[2];
  if (!err.clauses.empty()) {
    FireContext ec;
    ec.args[1] = p.id;
    ec.args[2] = clause;
    ec.args[3] = static_cast<uint64_t>(action + 1);
    ec.args[4] = static_cast<uint64_t>(f.kind);
    ec.args[5] = f.address;
    in_error = true;
    fire(err.id, ec);
    in_error = false;
  }
  // The message is printed whether or not ERROR has clauses, as
  // dtrace-utils' default error handler prints it: "error in dt_clause_N
  // for probe ID P (prv:mod:fun:prb): FAULT (ADDR) at BPF pc K"
  // (dt_handle_err). There is no BPF here: K is the faulting action's
  // place in its clause, from 1 (the predicate), never 0.
  std::string what;
  switch (f.kind) {
  case FaultKind::bad_address: what = "invalid address (" + hex(f.address) + ")"; break;
  case FaultKind::div_zero: what = "divide-by-zero"; break;
  case FaultKind::bad_align: what = "invalid alignment (" + hex(f.address) + ")"; break;
  case FaultKind::no_scratch: what = "out of scratch space"; break;
  case FaultKind::bad_index: what = "index out of bounds (" + std::to_string(static_cast<int64_t>(f.address)) + ")"; break;
  default: what = f.what.empty() ? "illegal operation" : f.what; break;
  }
  std::string msg = "probekit: error in dt_clause_" + std::to_string(clause) + " for probe ID " +
                    std::to_string(p.id) + " (" + p.probe_text + "): " + what + " at BPF pc " +
                    std::to_string(action + 1) + "\n";
  if (json()) sink->out("{\"type\":\"error\",\"msg\":" + json_quote(msg.substr(0, msg.size() - 1)) + "}\n");
  else sink->err(msg);
}

// When tracing stops, dtrace(1) prints a blank line (even with -q), then
// every aggregation not yet printed, entry after entry: no blank line
// between two aggregations (dtrace_aggregate_print), unlike printa().
void Runtime::print_remaining_aggregations() {
  sync();
  std::string text = json() || folded() ? "" : "\n";
  // dtrace sorts every entry by aggregation first (dt_aggregate_varcmp),
  // which aggsortrev reverses too: the last aggregation prints first.
  for (size_t n = 0; n < aggs.size(); ++n) {
    const size_t i = agg_sort.reverse ? aggs.size() - 1 - n : n;
    if (agg_printed[i]) continue;
    agg_printed[i] = true;
    if (json()) sink->out(aggs[i].json() + "\n");
    else if (folded()) sink->out(aggs[i].folded());
    else text += aggs[i].print();
  }
  if (!text.empty()) sink->out(text);
}

// --- compile and Program ------------------------------------------------------------------

struct ProgramState {
  explicit ProgramState(Symbols s, const CompileOptions& o) : rt(std::move(s), o) {}
  Runtime rt;
  ProgramAst ast;  // annotated: the agent code generator reads it
  AgentPlan plan;
  Program::AgentLayout layout;
  std::function<std::vector<const uint8_t*>()> agent_parts;
  Program::AgentSymbolizer agent_symbolize;
  // An address the agent stored, as the tracer's ufunc() & co. make it at a hit.
  Value agent_symbol(const uint8_t* part, int pid, uint64_t addr, Fn which) const {
    return symbol_value(agent_symbolize ? agent_symbolize(part, pid, addr) : hex(addr), addr, which);
  }
  // A stack the agent walked (a ustack() key: its id in the part's stack
  // table), as the tracer's ustack() makes it at a hit; nullopt for id 0
  // (the table was full: the hit's aggregation was dropped) or an id the
  // table does not hold.
  std::optional<Value> agent_stack(const uint8_t* part, uint64_t id) const {
    const uint32_t words = plan.stack_frames + 2;
    if (id == 0 || id > plan.stack_capacity) return std::nullopt;
    const auto* e = reinterpret_cast<const uint64_t*>(part + plan.stack_offset + sizeof(pk_dstacks)) + words * id;
    const uint64_t n = __atomic_load_n(&e[0], __ATOMIC_ACQUIRE);
    if (n == 0 || n > plan.stack_frames) return std::nullopt;
    return stack_value(part, 0, std::vector<uint64_t>(e + 2, e + 2 + n));
  }
  // Frames the agent walked, as the tracer's ustack() shows them.
  Value stack_value(const uint8_t* part, int pid, const std::vector<uint64_t>& pcs) const {
    Value v;
    v.kind = Value::Kind::stack;
    auto symbolized = [&](uint64_t pc) { return agent_symbolize ? agent_symbolize(part, pid, pc) : hex(pc); };
    v.s = stack_text(pcs, symbolized, [&](uint64_t pc) { return rt.host->inline_frames_at(symbolized(pc), pc); });
    return v;
  }
  uint64_t agent_drops = 0;  // aggregation drops of the parts already counted
  std::vector<NodePtr> replay;       // by AgentPlan::actions id: the output action, run on replay_values
  std::vector<Value> replay_values;  // what the agent computed for the action being replayed
  // Globals shared with the agent (Program::set_agent_globals): the value
  // each word had for the program at the last sync (raw, as the agent adds
  // to it), and what each address space's word was then.
  std::function<std::vector<uint64_t*>()> agent_globals;
  std::vector<uint64_t> global_total;
  std::map<const uint64_t*, std::vector<uint64_t>> global_seen;
  uint64_t array_drops = 0;  // dynamic variable drops of the agent's arrays already counted
  // String globals shared with the agent: the value each had for the
  // program at the last sync, and what each address space held then. A
  // string is not a sum: the space that changed it since wins (the last
  // one looked at, when two processes both did).
  std::vector<std::string> string_total;
  std::map<const uint64_t*, std::vector<std::string>> string_seen;
  void pull_globals(bool arrays = true);
  void push_globals();
  std::string agent_string(const uint64_t* g, size_t i) const;
  void put_agent_string(uint64_t* g, size_t i, const std::string& v) const;
  void pull_arrays(const std::vector<uint64_t*>& spaces);
};

// The agent's associative arrays, rebuilt from every address space's
// tables (the tracer's clauses only read them: agent_codegen.h), and
// their dynamic variable drops counted as the tracer counts its own.
void ProgramState::pull_arrays(const std::vector<uint64_t*>& spaces) {
  if (plan.array_words == 0) return;  // no pk_ddyn: no arrays, no charged self-> stores
  const uint32_t scalars = static_cast<uint32_t>(plan.global_slot.size());
  uint64_t drops = 0;
  for (const AgentPlan::Array& a : plan.arrays) rt.arrays[static_cast<size_t>(a.slot)].clear();
  Key key;
  for (uint64_t* g : spaces) {
    if (global_seen[g].size() != scalars) continue;  // not laid out by init_agent_globals
    drops += std::atomic_ref<uint64_t>(reinterpret_cast<pk_ddyn*>(g + scalars)->drops).load(std::memory_order_relaxed);
    for (const AgentPlan::Array& a : plan.arrays) {
      const VarDecl& decl = rt.symbols.globals[static_cast<size_t>(a.slot)];
      ArrayMap& map = rt.arrays[static_cast<size_t>(a.slot)];
      uint64_t* entries = g + scalars + a.word + sizeof(pk_darray) / 8;
      const uint64_t words = 1 + a.key_words + std::max<uint32_t>(a.value_words, 1);
      for (uint64_t e = 0; e < a.capacity; ++e) {
        uint64_t* en = entries + e * words;
        if (std::atomic_ref<uint64_t>(en[0]).load(std::memory_order_acquire) != PK_DENTRY_LIVE) continue;
        key.resize(a.key_parts.size());
        for (uint32_t k = 0, w = 1; k < a.key_parts.size(); w += a.key_parts[k++]) {
          const Type& t = decl.keys[k];
          if (t.is_string()) {  // its bytes, NUL-padded (PK_OP_SKEY)
            const auto* bytes = reinterpret_cast<const char*>(en + w);
            key[k] = Value::string(std::string(bytes, strnlen(bytes, 8ull * a.key_parts[k])));
            continue;
          }
          key[k] = Value::integer(normalize_to(t, static_cast<int64_t>(en[w])), t.size,
                                  t.is_signed && t.kind == Type::Kind::integer);
        }
        if (a.value_words) {  // an array of strings: the element's bytes (agent_abi.h PK_OP_ASSET)
          const auto* p = reinterpret_cast<const char*>(en + 1 + a.key_words);
          std::string v;
          for (uint32_t k = 0; k < plan.strsize; ++k) {
            const char ch = std::atomic_ref<char>(const_cast<char&>(p[k])).load(std::memory_order_relaxed);
            if (!ch) break;
            v += ch;
          }
          if (!v.empty()) map[key] = Value::string(std::move(v));  // two processes' elements of one key: the last
          continue;
        }
        const int64_t v = normalize_to(decl.type, static_cast<int64_t>(
                                                      std::atomic_ref<uint64_t>(en[1 + a.key_words]).load(std::memory_order_relaxed)));
        if (v == 0) continue;
        Value& slot = map[key];  // two processes' elements of one key: the sum
        slot = Value::integer(static_cast<int64_t>(static_cast<uint64_t>(slot.i) + static_cast<uint64_t>(v)),
                              decl.type.size, decl.type.is_signed && decl.type.kind == Type::Kind::integer);
      }
    }
  }
  if (drops > array_drops) {
    rt.dyn_budget.drops += drops - array_drops;
    array_drops = drops;
  }
}

// Every address space's change since the last sync is added to the total,
// and each space is brought to the total (by atomic adds: an agent's
// increment meanwhile stays): a counter incremented in two processes
// counts both.
void ProgramState::pull_globals(bool arrays) {
  const std::vector<uint64_t*> spaces = agent_globals ? agent_globals() : std::vector<uint64_t*>{};
  const size_t n = plan.global_slot.size();
  for (uint64_t* g : spaces) {
    auto& seen = global_seen[g];
    if (seen.size() != n) {  // not given to init_agent_globals: taken as it is
      seen.assign(n, 0);
      for (size_t w = 0; w < n; ++w) seen[w] = std::atomic_ref<uint64_t>(g[w]).load(std::memory_order_relaxed);
      continue;
    }
    for (size_t w = 0; w < n; ++w) {
      const uint64_t cur = std::atomic_ref<uint64_t>(g[w]).load(std::memory_order_relaxed);
      global_total[w] += cur - seen[w];
      seen[w] = cur;
    }
  }
  for (uint64_t* g : spaces) {
    auto& seen = global_seen[g];
    for (size_t w = 0; w < n; ++w) {
      if (seen[w] == global_total[w]) continue;
      std::atomic_ref<uint64_t>(g[w]).fetch_add(global_total[w] - seen[w], std::memory_order_relaxed);
      seen[w] = global_total[w];
    }
  }
  const size_t ns = string_total.size();
  for (uint64_t* g : spaces) {
    auto& seen = string_seen[g];
    if (seen.size() != ns) continue;  // not laid out by init_agent_globals
    for (size_t i = 0; i < ns; ++i) {
      std::string cur = agent_string(g, i);
      if (cur == seen[i]) continue;
      string_total[i] = cur;
      seen[i] = std::move(cur);
    }
  }
  for (uint64_t* g : spaces) {
    auto& seen = string_seen[g];
    if (seen.size() != ns) continue;
    for (size_t i = 0; i < ns; ++i) {
      if (seen[i] == string_total[i]) continue;
      put_agent_string(g, i, string_total[i]);
      seen[i] = string_total[i];
    }
  }
  for (size_t i = 0; i < ns; ++i) rt.globals[static_cast<size_t>(plan.string_global_slot[i])] = Value::string(string_total[i]);
  if (arrays) pull_arrays(spaces);  // O(table): only where a tracer clause reads them, and before printing
  for (size_t w = 0; w < n; ++w) {
    const size_t slot = static_cast<size_t>(plan.global_slot[w]);
    const Type& t = rt.symbols.globals[slot].type;
    rt.globals[slot] = Value::integer(normalize_to(t, static_cast<int64_t>(global_total[w])), t.size,
                                      t.is_signed && t.kind == Type::Kind::integer);
  }
}

// String global i of an address space (at most strsize bytes: a store
// under way may mix old and new bytes, as agent_abi.h says).
std::string ProgramState::agent_string(const uint64_t* g, size_t i) const {
  const auto* p = reinterpret_cast<const char*>(g + plan.string_globals_word() + i * plan.string_words());
  std::string v;
  for (uint32_t k = 0; k < plan.strsize; ++k) {
    const char ch = std::atomic_ref<char>(const_cast<char&>(p[k])).load(std::memory_order_relaxed);
    if (!ch) break;
    v.push_back(ch);
  }
  return v;
}

void ProgramState::put_agent_string(uint64_t* g, size_t i, const std::string& v) const {
  auto* p = reinterpret_cast<char*>(g + plan.string_globals_word() + i * plan.string_words());
  const size_t len = std::min<size_t>(v.size(), plan.strsize);
  for (size_t k = 0; k < len; ++k) std::atomic_ref<char>(p[k]).store(v[k], std::memory_order_relaxed);
  std::atomic_ref<char>(p[len]).store(0, std::memory_order_relaxed);
}

// What the program's clauses changed, added to every address space's word.
void ProgramState::push_globals() {
  const size_t n = plan.global_slot.size();
  std::vector<uint64_t*> spaces;
  for (size_t i = 0; i < plan.string_global_slot.size(); ++i) {
    const Value& v = rt.globals[static_cast<size_t>(plan.string_global_slot[i])];
    const std::string now = v.s.substr(0, std::min<size_t>(v.s.find('\0'), plan.strsize));
    if (now == string_total[i]) continue;
    string_total[i] = now;
    if (spaces.empty() && agent_globals) spaces = agent_globals();
    for (uint64_t* g : spaces) {
      auto& seen = string_seen[g];
      if (seen.size() != string_total.size()) continue;
      put_agent_string(g, i, now);
      seen[i] = now;
    }
  }
  for (size_t w = 0; w < n; ++w) {
    const size_t slot = static_cast<size_t>(plan.global_slot[w]);
    const Type& t = rt.symbols.globals[slot].type;
    const uint64_t now = static_cast<uint64_t>(rt.globals[slot].i);
    if (now == static_cast<uint64_t>(normalize_to(t, static_cast<int64_t>(global_total[w])))) continue;
    const uint64_t delta = now - global_total[w];
    global_total[w] = now;
    if (spaces.empty() && agent_globals) spaces = agent_globals();
    for (uint64_t* g : spaces) {
      auto& seen = global_seen[g];
      if (seen.size() != n) continue;
      std::atomic_ref<uint64_t>(g[w]).fetch_add(delta, std::memory_order_relaxed);
      seen[w] += delta;
    }
  }
}

CompileResult compile(std::string_view source, std::string file_name, const CompileOptions& options) {
  CompileResult r;
  r.diagnostics = Diagnostics(file_name, std::string(source));
  Parser parser(source, r.diagnostics);
  // The system's types (dtrace's kernel CTF and D libraries) come before
  // the target's own, as dtrace looks in the kernel's CTF before a
  // process's; the program's own declarations win over both.
  parser.set_target_types([&options](const std::string& key) -> std::optional<TargetAggregate> {
    if (auto s = system_type(key)) return s;
    if (options.target_type) return options.target_type(key);
    return std::nullopt;
  });
  ProgramAst ast = parser.parse_program();
  if (r.diagnostics.has_errors()) return r;
  if (ast.clauses.empty()) {
    // Declarations alone are still checked first (dtrace reports an inline
    // redefined or mistyped before it finds no clause).
    if (!ast.decls.empty()) {
      Symbols symbols;
      PassManager pm;
      add_default_passes(pm);
      PassContext ctx{ast, r.diagnostics, options, symbols};
      if (!pm.run(ctx)) return r;
    }
    // Nothing to trace would wait for ever: DTrace's D_EMPTY.
    r.diagnostics.error("D_EMPTY", Loc{0, 0, 1}, "empty D program translation unit");
    return r;
  }
  Symbols symbols;
  PassManager pm;
  add_default_passes(pm);
  PassContext ctx{ast, r.diagnostics, options, symbols};
  if (!pm.run(ctx)) return r;

  auto state = std::make_unique<ProgramState>(std::move(symbols), options);
  Runtime& rt = state->rt;
  for (const auto& c : ast.clauses) {
    ClauseInfo info;
    info.has_predicate = c.predicate != nullptr;
    for (const auto& d : c.descs) {
      ProbeDescription pd = description_of(d);
      pd.range = SourceRange{file_name, d.loc.line, d.loc.column, d.loc.length};
      info.descriptions.push_back(std::move(pd));
    }
    rt.clause_info.push_back(std::move(info));
  }
  rt.clauses = compile_clauses(ast, rt);
  {
    // Keys each thread's table of an aggregation holds: aggsize / 1 KiB
    // (4096 at DTrace's default 4m), 64 to 65536. The memory is touched
    // only where keys land.
    const uint64_t aggsize = rt.agg_budget.limit ? rt.agg_budget.limit : uint64_t{4} << 20;
    uint32_t entries = 64;
    while (entries < 65536 && uint64_t{entries} * 2 * 1024 <= aggsize) entries *= 2;
    state->plan.strsize = static_cast<uint32_t>(std::min<size_t>(rt.strsize, 0xffff));
    const uint32_t strsize = state->plan.strsize;
    state->plan = plan_agent(ast, rt.symbols, rt.flow_indent, entries, strsize, rt.dyn_budget.limit,
                             static_cast<uint32_t>(std::max(rt.ustackframes, 0)),
                             static_cast<uint32_t>(std::max(rt.ustackframes_max, 0)), aggsize);
    state->layout.aggs = state->plan.aggs;
    state->layout.self_words = state->plan.self_words;
    state->layout.part_bytes = state->plan.any ? state->plan.part_bytes : 0;
    state->layout.output = state->plan.actions.size() > 1;
    state->layout.global_words =
        state->plan.any ? state->plan.string_globals_word() + static_cast<uint32_t>(state->plan.string_global_slot.size()) *
                                                                   state->plan.string_words()
                        : 0;
    state->global_total.assign(state->plan.global_slot.size(), 0);
    state->string_total.assign(state->plan.string_global_slot.size(), "");
  }
  state->ast = std::move(ast);
  // DTrace's fixed ids: BEGIN 1, END 2, ERROR 3.
  rt.register_probe(ProbeKey{"dtrace", "", "", "BEGIN"});
  rt.register_probe(ProbeKey{"dtrace", "", "", "END"});
  rt.register_probe(ProbeKey{"dtrace", "", "", "ERROR"});
  r.program.reset(new Program(std::move(state)));
  return r;
}

Result<std::unique_ptr<Program>> compile_or_error(std::string_view source, std::string file_name,
                                                  const CompileOptions& options) {
  auto r = compile(source, std::move(file_name), options);
  if (r.ok()) return std::move(r.program);
  std::string text = r.diagnostics.render();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return Error(text, ErrorKind::parse);
}

Program::Program(std::unique_ptr<ProgramState> state) : state_(std::move(state)) {}
Program::~Program() = default;

const std::vector<ClauseInfo>& Program::clauses() const { return state_->rt.clause_info; }

RegisteredProbe Program::register_probe(const ProbeKey& key, std::vector<ProbeArg> args,
                                        std::vector<ProbeField> fields) {
  RegisteredProbe r;
  r.id = state_->rt.register_probe(key, std::move(args), std::move(fields));
  if (r.id) r.clauses = state_->rt.probes[r.id - 1].clauses;
  return r;
}

bool Program::fire(uint32_t id, FireContext& ctx) { return state_->rt.fire(id, ctx); }

bool Program::countable(uint32_t id) const {
  const Runtime& rt = state_->rt;
  if (id == 0 || id > rt.probes.size() || rt.flow_indent) return false;
  if (state_->plan.pid_exit) return false;  // the hits after an exit() must not count (AgentPlan::pid_exit)
  const ProbeEntry& p = rt.probes[id - 1];
  if (p.clauses.empty()) return false;
  for (uint32_t ci : p.clauses) {
    const CompiledClause& c = rt.clauses[ci];
    if (c.predicate || c.empty || c.body.empty()) return false;
    for (const auto& st : c.body) {
      if (!st->counts_only(rt)) return false;
    }
  }
  return true;
}

bool Program::recordable(uint32_t id, RecordNeeds* needs) const {
  const Runtime& rt = state_->rt;
  if (id == 0 || id > rt.probes.size() || rt.flow_indent) return false;
  const ProbeEntry& p = rt.probes[id - 1];
  RecordNeeds n;
  for (uint32_t ci : p.clauses) {
    const CompiledClause& c = rt.clauses[ci];
    if (c.predicate && !c.predicate->record_safe(n)) return false;
    for (const auto& st : c.body) {
      if (!st->record_safe(n)) return false;
    }
  }
  std::sort(n.string_regs.begin(), n.string_regs.end());
  n.string_regs.erase(std::unique(n.string_regs.begin(), n.string_regs.end()), n.string_regs.end());
  if (needs) *needs = std::move(n);
  return true;
}

void Program::fire_counted(uint32_t id, uint64_t n) {
  Runtime& rt = state_->rt;
  if (n == 0 || !countable(id)) return;
  const ProbeEntry& p = rt.probes[id - 1];
  FireContext ctx;
  Exec x{rt, ctx, p};
  for (size_t i = 0; i < p.clauses.size(); ++i) {
    x.epid = p.epids[i];
    rt.fires += n;
    for (const auto& st : rt.clauses[p.clauses[i]].body) st->exec_counted(x, n);
  }
}

std::optional<std::vector<uint8_t>> Program::agent_code(uint32_t id, std::string* why) {
  ProgramState& st = *state_;
  if (id == 0 || id > st.rt.probes.size()) return std::nullopt;
  return d::agent_code(st.ast, st.rt.symbols, st.plan, st.rt.probes[id - 1], why);
}

bool Program::agent_overrides(uint32_t id) {
  ProgramState& st = *state_;
  if (id == 0 || id > st.rt.probes.size()) return false;
  return d::agent_overrides(st.ast, st.rt.probes[id - 1]);
}

bool Program::agent_reads_return_offset(uint32_t id) {
  ProgramState& st = *state_;
  if (id == 0 || id > st.rt.probes.size()) return false;
  return d::agent_reads_return_offset(st.ast, st.rt.probes[id - 1]);
}

const Program::AgentLayout& Program::agent_layout() const { return state_->layout; }

bool Program::agent_output(uint32_t id, const AgentHit& hit) {
  ProgramState& st = *state_;
  Runtime& rt = st.rt;
  if (rt.exit_requested || id == 0 || id > rt.probes.size()) return rt.exit_requested;
  const ProbeEntry& p = rt.probes[id - 1];
  struct Item {
    uint32_t pos;  // the clause's place in the probe's list
    uint32_t id;
    const AgentPlan::Action* action;
    bool fault;
    const uint8_t* data;
    uint32_t length;
  };
  std::vector<Item> items;
  const uint8_t* at = hit.items;
  const uint8_t* end = hit.items + hit.bytes;
  for (uint32_t k = 0; k < hit.nitems && at + sizeof(pk_item) <= end; ++k) {
    pk_item it;
    std::memcpy(&it, at, sizeof it);
    const uint8_t* data = at + sizeof it;
    at = data + ((uint64_t{it.length} + 7) & ~uint64_t{7});
    if (at > end) break;
    if (it.address == 0 || it.address >= st.plan.actions.size()) continue;
    const AgentPlan::Action& a = st.plan.actions[it.address];
    auto c = std::find(p.clauses.begin(), p.clauses.end(), a.clause);
    if (c == p.clauses.end() || (it.flags & PK_ITEM_DFAULT ? it.length < 16 : a.action <= 0)) continue;
    items.push_back({static_cast<uint32_t>(c - p.clauses.begin()), static_cast<uint32_t>(it.address), &a,
                     (it.flags & PK_ITEM_DFAULT) != 0, data, it.length});
  }
  FireContext ctx;
  ctx.cpu = hit.cpu;
  Exec x{rt, ctx, p};
  x.tid = hit.tid;
  x.now = hit.timestamp_ns;
  rt.flow_applied = false;
  for (size_t i = 0; i < items.size();) {
    size_t j = i;
    while (j < items.size() && items[j].pos == items[i].pos) ++j;
    x.epid = p.epids[items[i].pos];
    x.action = items[i].action->action;
    if (items[i].fault) {
      uint64_t w[2];
      std::memcpy(w, items[i].data, sizeof w);
      Fault f;
      f.kind = static_cast<FaultKind>(w[0]);
      f.address = w[1];
      rt.replay_clause(x, nullptr, &f);
    } else {
      rt.replay_clause(
          x,
          [&](Exec& ex) {
            for (size_t k = i; k < j; ++k) {
              const Item& item = items[k];
              ex.action = item.action->action;
              if (st.replay.size() <= item.id) st.replay.resize(item.id + 1);
              NodePtr& node = st.replay[item.id];
              if (!node)
                node = compile_replay(*st.ast.clauses[item.action->clause].body[static_cast<size_t>(ex.action - 1)],
                                      &st.replay_values);
              // The values, in the order of the action's value arguments:
              // a word, or a string's length word and its bytes.
              const Expr& stmt = *st.ast.clauses[item.action->clause].body[static_cast<size_t>(ex.action - 1)];
              const size_t from = static_cast<Fn>(stmt.id) == Fn::printf ? 1 : 0;
              st.replay_values.clear();
              uint32_t w = 0;
              for (size_t a = from; a < stmt.kids.size() && w + 8 <= item.length; ++a) {
                uint64_t v;
                std::memcpy(&v, item.data + w, 8);
                w += 8;
                const Expr& arg = *stmt.kids[a];
                if (arg.type.kind == Type::Kind::symbol) {
                  st.replay_values.push_back(st.agent_symbol(nullptr, hit.pid, v, static_cast<Fn>(arg.id)));
                } else if (arg.type.kind == Type::Kind::stack) {  // its frames (PK_OUTS_STACK)
                  const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(v, item.length - w)) & ~7u;
                  std::vector<uint64_t> pcs(len / 8);
                  if (len) std::memcpy(pcs.data(), item.data + w, len);
                  w += len;
                  st.replay_values.push_back(st.stack_value(nullptr, hit.pid, pcs));
                } else if (arg.type.is_string()) {
                  const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(v, item.length - w));
                  st.replay_values.push_back(Value::string(std::string(reinterpret_cast<const char*>(item.data + w), len)));
                  w += (len + 7) & ~7u;
                } else {
                  st.replay_values.push_back(Value::integer(static_cast<int64_t>(v)));
                }
              }
              node->exec(ex);
            }
          },
          nullptr);
    }
    i = j;
  }
  return rt.exit_requested;
}

std::vector<std::vector<Program::GuardTerm>> Program::agent_guard(uint32_t id) const {
  const ProgramState& st = *state_;
  std::vector<std::vector<GuardTerm>> out;
  if (id == 0 || id > st.rt.probes.size()) return out;
  for (const auto& clause : d::agent_guard(st.ast, st.rt.probes[id - 1])) {
    auto& terms = out.emplace_back();
    for (const auto& t : clause) terms.push_back({t.word, t.size, to_string(t.op), t.is_signed, t.imm});
  }
  return out;
}

std::string Program::clause_place(size_t clause) const {
  const AgentPlan& p = state_->plan;
  if (clause < p.clause_ready.size() && p.clause_ready[clause]) return "";
  return clause < p.clause_why.size() ? p.clause_why[clause] : std::string("unknown");
}

void Program::set_agent_parts(std::function<std::vector<const uint8_t*>()> parts) {
  state_->agent_parts = std::move(parts);
  state_->rt.before_print = [this] { absorb_agent(); };
}

void Program::set_agent_symbolizer(AgentSymbolizer symbolize) { state_->agent_symbolize = std::move(symbolize); }

void Program::set_agent_globals(std::function<std::vector<uint64_t*>()> globals) {
  ProgramState& st = *state_;
  const bool strings = !st.plan.string_global_slot.empty();
  if (st.plan.global_slot.empty() && st.plan.array_words == 0 && !strings) return;
  st.agent_globals = std::move(globals);
  if (st.plan.global_slot.empty() && st.plan.arrays.empty() && !strings) return;  // only the self-> charges' drops: read at prints
  st.rt.before_fire = [&st] { st.pull_globals(st.plan.arrays_read_in_tracer); };
  st.rt.after_fire = [&st] { st.push_globals(); };
}

void Program::init_agent_globals(uint64_t* words) {
  ProgramState& st = *state_;
  const size_t n = st.plan.global_slot.size();
  std::vector<uint64_t>& seen = st.global_seen[words];
  seen = st.global_total;
  for (size_t w = 0; w < n; ++w) std::atomic_ref<uint64_t>(words[w]).store(seen[w], std::memory_order_relaxed);
  st.string_seen[words] = st.string_total;
  for (size_t i = 0; i < st.string_total.size(); ++i) st.put_agent_string(words, i, st.string_total[i]);
  if (st.plan.array_words == 0) return;
  // The arrays' tables, empty, and the dynvarsize budget they share with
  // the self-> variables (charged as Exec::thread_vars charges them).
  auto* dyn = reinterpret_cast<pk_ddyn*>(words + n);
  *dyn = pk_ddyn{};
  dyn->limit = st.rt.dyn_budget.limit;
  dyn->self_bytes = st.rt.dyn_elem;
  for (const AgentPlan::Array& a : st.plan.arrays) {
    auto* t = reinterpret_cast<pk_darray*>(words + n + a.word);
    t->capacity = a.capacity;
    t->key_words = a.key_words;
    t->elem_bytes = a.elem_bytes;
    t->string_starts = a.string_starts;
    t->string_key_words = a.string_key_words;
    t->value_words = a.value_words;
    t->dyn = n;
  }
}

// The agent-owned aggregations, rebuilt from every thread's part.
void Program::absorb_agent() {
  ProgramState& st = *state_;
  if (st.agent_globals) st.pull_globals();
  if (!st.agent_parts || st.plan.aggs.empty()) return;
  const std::vector<const uint8_t*> parts = st.agent_parts();
  Runtime& rt = st.rt;
  for (size_t i = 0; i < st.plan.aggs.size(); ++i) rt.aggs[static_cast<size_t>(st.plan.agg_slot[i])].trunc_all();
  uint64_t drops = 0;
  std::vector<Value> key;
  AggState state;
  for (const uint8_t* part : parts) {
    if (st.plan.stack_frames) drops += reinterpret_cast<const pk_dstacks*>(part + st.plan.stack_offset)->drops;
    for (size_t i = 0; i < st.plan.aggs.size(); ++i) {
      const pk_dagg& a = st.plan.aggs[i];
      const std::vector<AgentKeyPart>& layout = st.plan.agg_keys[i];
      Aggregation& agg = rt.aggs[static_cast<size_t>(st.plan.agg_slot[i])];
      const uint8_t* table = part + a.offset;
      drops += reinterpret_cast<const pk_dagg_table*>(table)->drops;
      const auto* entries = reinterpret_cast<const uint64_t*>(table + sizeof(pk_dagg_table));
      const size_t words = 1u + a.key_words + a.value_words;
      for (uint32_t e = 0; e < a.capacity; ++e) {
        const uint64_t* en = entries + e * words;
        if (__atomic_load_n(&en[0], __ATOMIC_ACQUIRE) != 1) continue;
        key.resize(layout.size());
        const uint64_t* w = en + 1;
        bool dropped = false;  // a stack the thread's table had no room for
        for (size_t k = 0; k < layout.size(); ++k) {
          switch (layout[k].kind) {
            case AgentKeyPart::Kind::stack: {
              auto stack = st.agent_stack(part, *w++);
              dropped = dropped || !stack;
              if (stack) key[k] = std::move(*stack);
              break;
            }
            case AgentKeyPart::Kind::integer: {
              const Type& t = layout[k].type;
              key[k] = Value::integer(static_cast<int64_t>(*w++), t.size,
                                      t.is_signed && t.kind == Type::Kind::integer);
              break;
            }
            case AgentKeyPart::Kind::string_id:
              key[k] = Value::string(*w < st.plan.strings.size() ? st.plan.strings[*w] : std::string());
              ++w;
              break;
            case AgentKeyPart::Kind::symbol:
              key[k] = st.agent_symbol(part, 0, *w++, layout[k].fn);
              break;
            case AgentKeyPart::Kind::comm: {
              char comm[17] = {};
              std::memcpy(comm, w, 16);
              w += 2;
              key[k] = Value::string(comm);
              break;
            }
            case AgentKeyPart::Kind::string: {  // strsize bytes at most, zero-padded
              const char* bytes = reinterpret_cast<const char*>(w);
              const size_t most = std::min<size_t>(8u * layout[k].words, st.plan.strsize);
              key[k] = Value::string(std::string(bytes, strnlen(bytes, most)));
              w += layout[k].words;
              break;
            }
          }
        }
        if (dropped) continue;
        const auto* v = reinterpret_cast<const int64_t*>(w);
        state = AggState{};
        switch (a.func) {
          case PK_DAGG_COUNT: state.count = v[0]; break;
          case PK_DAGG_SUM: state.value = v[0]; break;
          case PK_DAGG_STDDEV:
            state.sumsq_lo = static_cast<uint64_t>(v[2]);
            state.sumsq_hi = static_cast<uint64_t>(v[3]);
            [[fallthrough]];
          case PK_DAGG_AVG:
          case PK_DAGG_MIN:
          case PK_DAGG_MAX:
            state.count = v[0];
            state.value = v[1];
            break;
          default: state.buckets.assign(v, v + a.value_words); break;
        }
        agg.merge(key, state);
      }
    }
  }
  if (drops > st.agent_drops) {
    rt.agg_budget.drops += drops - st.agent_drops;
    st.agent_drops = drops;
  }
}

void Program::consume(uint64_t now_ns) { state_->rt.snap_aggregations(now_ns, now_ns); }

uint64_t Program::next_consume_ns() const {
  const Runtime& rt = state_->rt;
  return rt.aggrate_ns && rt.lastagg_ns ? rt.lastagg_ns + rt.aggrate_ns : 0;
}

bool Program::begin() {
  FireContext ctx;
  return state_->rt.fire(1, ctx);
}

void Program::end() {
  FireContext ctx;
  state_->rt.fire(2, ctx);
  state_->rt.sync();
  // As dtrace(1) reports drops: on stderr, before the aggregations.
  const bool tags = state_->rt.symbols.options.count("droptags") > 0;
  std::string drops = drop_report(state_->rt.agg_budget, state_->rt.dyn_budget, tags);
  drops += drop_line(state_->rt.principal_drops, "DTRACEDROP_PRINCIPAL", "drop", " on CPU 0", tags);
  drops += drop_line(state_->rt.spec_drops, "DTRACEDROP_SPEC", "speculative drop", "", tags);
  drops += drop_line(state_->rt.spec_unavailable, "DTRACEDROP_SPECUNAVAIL", "failed speculation",
                     " (no speculative buffer available)", tags);
  if (!drops.empty()) state_->rt.sink->err(drops);
  state_->rt.print_remaining_aggregations();
  state_->rt.sink->flush();
}

void Program::set_output(OutputSink* sink) {
  state_->rt.sink = sink ? sink : state_->rt.default_sink.get();
}

void Program::set_host(Host* host) {
  state_->rt.host = host ? host : state_->rt.default_host.get();
  state_->rt.rand_state = state_->rt.host->random_seed() | 1;
}

bool Program::exit_requested() const { return state_->rt.exit_requested; }
void Program::set_on_exit(std::function<void()> on_exit) { state_->rt.on_exit = std::move(on_exit); }
int Program::exit_status() const { return state_->rt.exit_status; }

std::string Program::openmetrics() const {
  state_->rt.sync();  // the agent's parts first
  std::vector<const Aggregation*> list;
  for (const auto& a : state_->rt.aggs) list.push_back(&a);
  return d::openmetrics(list);
}

bool Program::has_option(const std::string& name) const { return state_->rt.symbols.options.count(name) > 0; }

std::string Program::option(const std::string& name) const {
  auto it = state_->rt.symbols.options.find(name);
  return it == state_->rt.symbols.options.end() ? std::string() : it->second;
}

std::string Program::enabling_error() const {
  const Runtime& rt = state_->rt;
  auto zero_key = [](const std::vector<Type>& types) {
    std::vector<Value> key;
    for (const Type& t : types) key.push_back(zero_value(t));
    return key;
  };
  auto too_small = [](const char* option, uint64_t limit, uint64_t need, const char* what) {
    return "-x " + std::string(option) + "=" + std::to_string(limit) + ": " + what + " takes " +
           std::to_string(need) + " bytes: use " + option + "=" + std::to_string(need) + " or more";
  };
  // dtrace-utils sizes its buffers for the largest record, entry or
  // variable the program has (dt_maxreclen, dt_maxtuplesize + ...):
  // each must fit once, however few are stored later.
  uint64_t agg_need = 0;
  for (size_t i = 0; i < rt.aggs.size() && i < rt.symbols.aggs.size(); ++i)
    agg_need = std::max(agg_need, rt.aggs[i].entry_bytes(zero_key(rt.symbols.aggs[i].keys)));
  if (rt.agg_budget.limit && agg_need > rt.agg_budget.limit)
    return too_small("aggsize", rt.agg_budget.limit, agg_need, "an aggregation entry");
  const uint64_t dyn_need = rt.dyn_elem;
  if (rt.dyn_budget.limit && dyn_need > rt.dyn_budget.limit)
    return too_small("dynvarsize", rt.dyn_budget.limit, dyn_need, "a dynamic variable");
  // The smallest record dtrace-utils writes to its buffer with the perf
  // header (a firing's EPID and exit status) is 64 bytes.
  constexpr uint64_t kMinBufsize = 64;
  if (auto it = rt.symbols.options.find("bufsize"); it != rt.symbols.options.end()) {
    const uint64_t bufsize = d::option_size(it->second).value_or(kMinBufsize);
    if (bufsize < kMinBufsize) return too_small("bufsize", bufsize, kMinBufsize, "a record");
  }
  return {};
}

bool Program::quiet() const { return state_->rt.quiet(); }
bool Program::destructive() const { return state_->rt.symbols.options.count("destructive") > 0; }
uint64_t Program::fires() const { return state_->rt.fires; }
uint64_t Program::errors() const { return state_->rt.errors; }

}  // namespace probekit::d
