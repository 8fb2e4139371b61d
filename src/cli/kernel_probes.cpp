#include "cli/kernel_probes.h"

#include "cli/d_probes.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "syscall/syscall_table.h"
#include "util/strings.h"

namespace probekit::cli {

namespace {

// A kernel event as the D program sees a firing: who and when, nothing to
// read (no registers, no user memory: the thread is not stopped).
class KernelHitContext : public HitContext {
public:
  // user_pc: a sample taken in user mode (uregs[R_PC]); 0 otherwise.
  KernelHitContext(int pid, int ppid, int tid, std::string comm, int cpu, uint64_t time, uint64_t user_pc = 0)
      : pid_(pid), ppid_(ppid), tid_(tid), comm_(std::move(comm)), cpu_(cpu), time_(time) {
    regs_.rip = user_pc;
  }
  int pid() const override { return pid_; }
  int tid() const override { return tid_; }
  int ppid() const override { return ppid_; }
  const std::string& comm() const override { return comm_; }
  int cpu() const override { return cpu_; }
  uint64_t timestamp_ns() const override { return time_; }
  const SiteInfo& site() const override { return site_; }
  const user_regs_struct& regs() const override { return regs_; }
  Result<user_regs_struct*> mutable_regs() override { return unsupported(); }
  Result<user_fpregs_struct> fpregs() const override { return unsupported(); }
  Result<size_t> read(uint64_t, void*, size_t) const override { return unsupported(); }
  Result<std::string> read_string(uint64_t, size_t) const override { return unsupported(); }
  Status write(uint64_t, const void*, size_t) override { return unsupported(); }
  std::string symbolize(uint64_t addr, bool) const override { return hex(addr); }
  Result<uint64_t> lookup_symbol(const std::string&) const override { return unsupported(); }

private:
  static Error unsupported() {
    return Error("a kernel tracepoint event has no user registers or memory to read", ErrorKind::unsupported);
  }
  int pid_, ppid_, tid_;
  std::string comm_;
  int cpu_;
  uint64_t time_;
  SiteInfo site_;
  user_regs_struct regs_{};
};

std::vector<d::ProbeField> probe_fields(const kernel::TracepointFormat& f) {
  std::vector<d::ProbeField> out;
  for (const auto& k : f.fields) {
    if (k.common) continue;  // common_pid and friends: pid, tid and the rest say it (as bpftrace hides them)
    d::ProbeField p;
    p.name = k.name;
    p.c_type = k.c_type;
    p.offset = k.offset;
    p.size = k.size;
    p.is_signed = k.is_signed;
    switch (k.kind) {
    case kernel::TracepointField::Kind::integer: p.kind = d::ProbeField::Kind::integer; break;
    case kernel::TracepointField::Kind::data_loc: p.kind = d::ProbeField::Kind::data_loc; break;
    case kernel::TracepointField::Kind::rel_loc: p.kind = d::ProbeField::Kind::rel_loc; break;
    case kernel::TracepointField::Kind::char_array: p.kind = d::ProbeField::Kind::char_array; break;
    default: continue;  // arrays of integers, structs: not readable as args->FIELD
    }
    out.push_back(std::move(p));
  }
  return out;
}

bool empty_or_matches_empty(const std::string& field) { return field.empty() || glob_match(field, ""); }

// "write:entry" with no process: no provider, a system call's name and
// entry or return, which dtrace matches to syscall::write:entry.
bool names_system_call(const d::ProbeDescription& desc) {
  if (!desc.provider.empty() || !syscall_module_matches(desc.module) || desc.function.empty()) return false;
  if (!desc.name.empty() && !glob_match(desc.name, "entry") && !glob_match(desc.name, "return")) return false;
  return !syscalls::match_syscalls(desc.function).empty();
}

}  // namespace

bool syscall_module_matches(const std::string& module) {
  return module.empty() || glob_match(module, kSyscallModule);
}

const std::vector<KernelProbes::Mapping>& KernelProbes::mappings() {
  static const std::vector<Mapping> m = {
      {"proc", "exec-success", "sched", "sched_process_exec", Role::exec_success},
      {"proc", "exit", "sched", "sched_process_exit", Role::exit},
      {"proc", "create", "sched", "sched_process_fork", Role::create},
      {"sched", "on-cpu", "sched", "sched_switch", Role::on_cpu},
      {"sched", "off-cpu", "sched", "sched_switch", Role::off_cpu},
  };
  return m;
}

bool KernelProbes::is_sampler(const d::ProbeDescription& desc) const {
  if (has_target_) return false;
  const bool tick = (desc.provider.empty() || glob_match(desc.provider, "profile")) && starts_with(desc.name, "tick-");
  return names_profile(desc) || (tick && !tick_timers_ && tick_period_ns(desc.name));
}

bool KernelProbes::is_kernel(const d::ProbeDescription& desc) const {
  if (is_sampler(desc)) return true;
  const std::string& p = desc.provider;
  if (p == "tracepoint" || p == "proc" || p == "sched" || p == "kprobe" || p == "kretprobe" || p == "fbt")
    return true;
  return (p == "syscall" || names_system_call(desc)) && !has_target_;
}

Result<const kernel::Tracefs*> KernelProbes::tracefs() {
  if (tracefs_) return &*tracefs_;
  if (tracefs_error_) return *tracefs_error_;
  auto t = kernel::Tracefs::open();
  if (!t) {
    tracefs_error_ = t.error();
    return t.error();
  }
  tracefs_ = std::move(*t);
  return &*tracefs_;
}

Result<KernelProbes::Tracepoint*> KernelProbes::tracepoint(const std::string& subsystem, const std::string& event) {
  std::string key = subsystem + ":" + event;
  auto it = tracepoints_.find(key);
  if (it != tracepoints_.end()) return &it->second;
  auto fs = tracefs();
  if (!fs) return fs.error();
  auto format = (*fs)->format(subsystem, event);
  if (!format) return format.error();
  Tracepoint tp;
  tp.format = std::move(*format);
  auto& slot = tracepoints_[key] = std::move(tp);
  by_id_[slot.format.id] = &slot;
  return &slot;
}

Result<std::vector<KernelProbes::Named>> KernelProbes::resolve(const d::ProbeDescription& desc) {
  std::vector<Named> out;
  const std::string& p = desc.provider;
  if (p == "kprobe" || p == "kretprobe" || p == "fbt") return resolve_kprobe(desc, true);
  auto fs = tracefs();
  if (!fs) return fs.error();
  if (p == "tracepoint") {
    if (!empty_or_matches_empty(desc.name)) return out;
    auto events = (*fs)->list(desc.module, desc.function);
    if (!events) return events.error();
    for (auto& [s, e] : *events) out.push_back({s, e, Role::plain, {"tracepoint", s, e, ""}});
    return out;
  }
  if (p == "syscall" || names_system_call(desc)) {
    if (!syscall_module_matches(desc.module)) return out;
    bool entry = desc.name.empty() || glob_match(desc.name, "entry");
    bool ret = desc.name.empty() || glob_match(desc.name, "return");
    // A few named calls: their own tracepoints, so that no other call
    // costs a sample (and a busy machine's other calls cannot fill the
    // rings). Many, or a kernel without them: raw_syscalls, filtered here.
    auto nrs = syscalls::match_syscalls(desc.function.empty() ? "*" : desc.function);
    bool named = !nrs.empty() && nrs.size() <= 64;
    for (int nr : nrs) {
      std::string n(syscalls::syscall_name(nr));
      if (!(*fs)->has_event("syscalls", "sys_enter_" + n) || !(*fs)->has_event("syscalls", "sys_exit_" + n)) {
        named = false;
        break;
      }
    }
    if (named) {
      for (int nr : nrs) {
        std::string n(syscalls::syscall_name(nr));
        if (entry) out.push_back({"syscalls", "sys_enter_" + n, Role::sys_enter, {"syscall", kSyscallModule, n, "entry"}, nr});
        if (ret) out.push_back({"syscalls", "sys_exit_" + n, Role::sys_exit, {"syscall", kSyscallModule, n, "return"}, nr});
      }
      return out;
    }
    if (entry) out.push_back({"raw_syscalls", "sys_enter", Role::sys_enter, {}});
    if (ret) out.push_back({"raw_syscalls", "sys_exit", Role::sys_exit, {}});
    return out;
  }
  if (!empty_or_matches_empty(desc.module) || !empty_or_matches_empty(desc.function)) return out;
  for (const auto& m : mappings()) {
    if (p != m.provider) continue;
    if (!desc.name.empty() && !glob_match(desc.name, m.name)) continue;
    out.push_back({m.subsystem, m.event, m.role, {m.provider, "", "", m.name}});
  }
  return out;
}

KernelProbes::~KernelProbes() {
  events_.reset();  // a kprobe in use by a perf event cannot be removed
  if (tracefs_)
    for (const auto& e : kprobes_) tracefs_->remove_kprobe(kprobe_group(), e);
}

std::string KernelProbes::kprobe_group() const { return "probekit_" + std::to_string(::getpid()); }

// kprobe:FUNC / kretprobe:FUNC (bpftrace) and fbt::FUNC:entry|return
// (DTrace): one kprobe_events event per function, named FUNC (entry) or
// FUNC__return, in this process's own group; `create` false only lists.
Result<std::vector<KernelProbes::Named>> KernelProbes::resolve_kprobe(const d::ProbeDescription& desc, bool create) {
  std::vector<Named> out;
  const std::string& p = desc.provider;
  std::string root = tracefs_ ? tracefs_->root() : "/sys/kernel/tracing";
  if (auto missing = kernel::kprobes_missing(root))
    return Error("probe description '" + desc.text + "': " + *missing + "; use tracepoint:SUBSYSTEM:EVENT "
                 "(probekit -l -n 'tracepoint:*:*' lists them)",
                 ErrorKind::unsupported);
  auto fs = tracefs();
  if (!fs) return fs.error();
  if (!empty_or_matches_empty(desc.module)) return out;
  std::vector<std::pair<bool, std::string>> kinds;  // (is_return, probe name)
  if (p == "fbt") {
    if (desc.name.empty() || glob_match(desc.name, "entry")) kinds.emplace_back(false, "entry");
    if (desc.name.empty() || glob_match(desc.name, "return")) kinds.emplace_back(true, "return");
  } else if (empty_or_matches_empty(desc.name)) {
    kinds.emplace_back(p == "kretprobe", "");
  }
  std::vector<std::string> functions;
  if (has_glob(desc.function) || desc.function.empty()) {
    auto fns = (*fs)->kernel_functions(desc.function);
    if (!fns) return fns.error();
    functions = std::move(*fns);
    // Each is an event of its own: a glob over thousands of functions is
    // refused rather than registered one write at a time.
    if (create && functions.size() * kinds.size() > 64)
      return Error("probe description '" + desc.text + "' selects " + std::to_string(functions.size()) +
                       " kernel functions; name at most 64 (kprobes are created one by one)",
                   ErrorKind::usage);
  } else {
    functions.push_back(desc.function);
  }
  for (const auto& fn : functions) {
    for (const auto& [is_return, name] : kinds) {
      std::string event = is_return ? fn + "__return" : fn;
      d::ProbeKey key{p, "", fn, name};
      if (create && !(*fs)->has_event(kprobe_group(), event)) {
        if (auto st = (*fs)->add_kprobe(kprobe_group(), event, fn, is_return); !st)
          return std::move(st).error().context("probe description '" + desc.text + "'");
        kprobes_.push_back(event);
      }
      out.push_back({kprobe_group(), event, Role::plain, key});
    }
  }
  return out;
}

d::ProbeFieldsAnswer KernelProbes::fields_for(const d::ProbeDescription& desc) {
  d::ProbeFieldsAnswer a;
  if (!is_kernel(desc)) return a;
  a.kernel = true;
  if (is_sampler(desc)) return a;  // profile-N has no args->
  a.applies = true;
  auto named = resolve(desc);
  if (!named) {
    a.unknown = true;  // open() reports why
    return a;
  }
  for (const auto& n : *named) {
    auto tp = tracepoint(n.subsystem, n.event);
    if (!tp) {
      a.unknown = true;
      return a;
    }
    if (!a.what.empty()) a.what += ", ";
    a.what += "tracepoint " + n.subsystem + ":" + n.event;
    for (auto& f : probe_fields((*tp)->format)) a.fields.push_back(std::move(f));
  }
  if (a.what.empty()) a.what = "'" + desc.text + "' (it matches no tracepoint)";
  return a;
}

Status KernelProbes::open(const std::vector<d::ClauseInfo>& clauses, size_t ring_bytes) {
  constexpr int tick_cpu = 0;  // dtrace-utils takes -x cpu or a random online CPU; CPU 0 is always there
  std::vector<uint32_t> ids;
  for (const auto& c : clauses) {
    for (const auto& desc : c.descriptions) {
      if (!is_kernel(desc)) continue;
      if (is_sampler(desc)) {
        const bool tick = starts_with(desc.name, "tick-");
        std::optional<uint64_t> period;
        if (tick) {
          period = tick_period_ns(desc.name);
        } else if (auto hz = profile_rate(desc)) {
          period = static_cast<uint64_t>(1e9 / *hz);
        }
        if (!period) continue;  // bind() reports it, with the other descriptions' problems
        auto same = [&](const Sampler& s) { return s.name == desc.name; };
        if (std::none_of(samplers_.begin(), samplers_.end(), same))
          samplers_.push_back({desc.name, *period, 0, tick ? tick_cpu : -1});
        continue;
      }
      auto named = resolve(desc);
      if (!named) return named.error();
      for (const auto& n : *named) {
        auto tp = tracepoint(n.subsystem, n.event);
        if (!tp) return std::move(tp).error().context("probe description '" + desc.text + "'");
        if (std::find(ids.begin(), ids.end(), (*tp)->format.id) == ids.end()) ids.push_back((*tp)->format.id);
      }
    }
  }
  if (ids.empty() && samplers_.empty()) return {};
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t pages = 1;
  while (pages * page < ring_bytes && pages < (size_t{1} << 20)) pages <<= 1;
  kernel::EventSet set;
  set.tracepoints = std::move(ids);
  for (const auto& s : samplers_) {
    set.sample_periods_ns.push_back(s.period_ns);
    set.sample_cpus.push_back(s.cpu);
  }
  auto events = kernel::PerfEvents::open(set, pages);
  const bool only_ticks = std::all_of(samplers_.begin(), samplers_.end(), [](const Sampler& s) { return s.cpu >= 0; });
  if (!events && !samplers_.empty() && only_ticks && events.error().kind() == ErrorKind::permission &&
      starts_with(events.error().message(), "sampling")) {
    // Without the rights to sample a CPU, tick-N is a timer in probekit
    // (its pid and execname probekit's own), as before: bind() sees it.
    tick_timers_ = true;
    samplers_.clear();
    if (set.tracepoints.empty()) return {};
    set.sample_periods_ns.clear();
    set.sample_cpus.clear();
    events = kernel::PerfEvents::open(set, pages);
  }
  if (!events) {
    const Error& e = events.error();
    if (!samplers_.empty() && e.kind() == ErrorKind::permission && starts_with(e.message(), "sampling"))
      return Error("probe description '" + samplers_.front().name + "' with no -p/-c samples the whole system: " +
                       e.message() + "; run as root, lower the setting (sysctl kernel.perf_event_paranoid=0), " +
                       "or sample one process with -p PID or -c 'CMD ARGS'",
                   ErrorKind::permission, e.errnum());
    return events.error();
  }
  events_ = std::move(*events);
  return {};
}

// profile-N with no target: the sampler open() created for its name.
Result<size_t> KernelProbes::bind_sampler(d::Program& program, const d::ProbeDescription& desc) {
  if (!starts_with(desc.name, "tick-"))  // a tick-N here has a period (is_sampler)
    if (auto hz = profile_rate(desc); !hz) return hz.error();
  auto reg = program.register_probe({"profile", "", "", desc.name});
  if (!reg.id) return size_t{0};
  for (auto& s : samplers_)
    if (s.name == desc.name) s.probe_id = reg.id;
  return size_t{1};
}

Result<size_t> KernelProbes::bind(d::Program& program, const d::ProbeDescription& desc) {
  if (is_sampler(desc)) return bind_sampler(program, desc);
  auto named = resolve(desc);
  if (!named) return named.error();
  size_t matched = 0;
  for (const auto& n : *named) {
    auto tpr = tracepoint(n.subsystem, n.event);
    if (!tpr) return tpr.error();
    Tracepoint& tp = **tpr;
    auto fields = probe_fields(tp.format);
    auto target_for = [&](Role role) -> Target& {
      for (auto& t : tp.targets)
        if (t.role == role) return t;
      tp.targets.push_back({role, 0, {}, fields});
      return tp.targets.back();
    };
    if (n.nr >= 0) {  // one call's own tracepoint
      auto reg = program.register_probe(n.key, {}, fields);
      if (!reg.id) continue;
      ++matched;
      target_for(n.role).syscall_probes[static_cast<uint32_t>(n.nr)] = reg.id;
      continue;
    }
    if (n.role == Role::sys_enter || n.role == Role::sys_exit) {
      const char* name = n.role == Role::sys_enter ? "entry" : "return";
      Target& t = target_for(n.role);
      for (int nr : syscalls::match_syscalls(desc.function.empty() ? "*" : desc.function)) {
        d::ProbeKey key{"syscall", kSyscallModule, std::string(syscalls::syscall_name(nr)), name};
        auto reg = program.register_probe(key, {}, fields);
        if (!reg.id) continue;
        ++matched;
        t.syscall_probes[static_cast<uint32_t>(nr)] = reg.id;
      }
      continue;
    }
    auto reg = program.register_probe(n.key, {}, fields);
    if (!reg.id) continue;
    ++matched;
    target_for(n.role).probe_id = reg.id;
  }
  return matched;
}

void KernelProbes::wait(int timeout_ms) {
  if (events_) events_->wait(timeout_ms);
}

void KernelProbes::fire(d::Program& program, const kernel::KernelEvent& ev, const Tracepoint& tp, const Target& t) {
  const auto& fmt = tp.format;
  auto integer = [&](const char* name, uint32_t index = 0) -> std::optional<int64_t> {
    const auto* f = fmt.field(name);
    return f ? kernel::read_integer(*f, ev.data, ev.size, index) : std::nullopt;
  };
  auto string = [&](const char* name) -> std::optional<std::string> {
    const auto* f = fmt.field(name);
    return f ? kernel::read_string(*f, ev.data, ev.size) : std::nullopt;
  };
  int pid = ev.pid, tid = ev.tid;
  std::string comm(ev.comm);
  d::FireContext fc;
  fc.record = ev.data;
  fc.record_size = ev.size;
  fc.cpu = static_cast<int>(ev.cpu);
  uint32_t id = t.probe_id;
  switch (t.role) {
  case Role::plain:
  case Role::exec_success:
  case Role::create: break;
  case Role::exit:
    // Every thread's exit passes this tracepoint; the process exits with
    // its last thread (group_dead where the kernel says so).
    if (auto dead = integer("group_dead")) {
      if (*dead == 0) return;
    } else if (pid != tid) {
      return;
    }
    break;
  case Role::off_cpu:
    if (auto c = string("prev_comm")) comm = *c;
    break;
  case Role::on_cpu: {
    // The sample is taken in the outgoing thread; the incoming one is in
    // the fields (its thread id: the tracepoint has no tgid).
    auto next = integer("next_pid");
    if (!next) return;
    pid = tid = static_cast<int>(*next);
    if (auto c = string("next_comm")) comm = *c;
    break;
  }
  case Role::sys_enter:
  case Role::sys_exit: {
    if (pid == static_cast<int>(::getpid())) return;  // probekit's own calls (its output would feed itself)
    // raw_syscalls: `id` and `args[6]`; syscalls:sys_enter_NAME:
    // `__syscall_nr` and one 8-byte field per argument.
    auto nr = fmt.field("id") ? integer("id") : integer("__syscall_nr");
    if (!nr || *nr < 0) return;
    auto it = t.syscall_probes.find(static_cast<uint32_t>(*nr));
    if (it == t.syscall_probes.end()) return;
    id = it->second;
    if (t.role == Role::sys_enter && fmt.field("args")) {
      for (uint32_t i = 0; i < 6; ++i) fc.args[i] = static_cast<uint64_t>(integer("args", i).value_or(0));
    } else if (t.role == Role::sys_enter) {
      size_t i = 0;
      for (const auto& f : fmt.fields) {
        if (f.common || f.name == "__syscall_nr" || i >= 6) continue;
        fc.args[i++] = static_cast<uint64_t>(kernel::read_integer(f, ev.data, ev.size).value_or(0));
      }
    } else {
      int64_t ret = integer("ret").value_or(0);
      fc.args[0] = fc.args[1] = static_cast<uint64_t>(ret);
      fc.retval = ret;
      if (ret < 0 && ret >= -4095) fc.errno_value = static_cast<int>(-ret);
    }
    break;
  }
  }
  if (!id) return;
  KernelHitContext hit(pid, pid == ev.pid ? ev.ppid : 0, tid, std::move(comm), static_cast<int>(ev.cpu), ev.time_ns);
  fc.hit = &hit;
  if (timeline_) {
    std::vector<std::pair<std::string, std::string>> args;
    for (const auto& f : fmt.fields) {
      if (f.common) continue;
      if (f.kind == kernel::TracepointField::Kind::integer) {
        if (auto v = kernel::read_integer(f, ev.data, ev.size)) args.emplace_back(f.name, std::to_string(*v));
      } else if (auto text = kernel::read_string(f, ev.data, ev.size)) {
        args.emplace_back(f.name, json_quote(*text));
      }
    }
    timeline_->instant(hit, fmt.subsystem + ":" + fmt.event, "tracepoint", args);
  }
  if (program.fire(id, fc)) exit_requested_ = true;
}

// DTrace's profile-N arguments: arg0 the PC in the kernel, arg1 the PC in
// the process, the other one 0. The process's PC is a raw address: its
// symbols are not loaded (ufunc(arg1) prints it in hex).
void KernelProbes::fire_sample(d::Program& program, const kernel::KernelEvent& ev) {
  if (ev.sampler >= samplers_.size() || !samplers_[ev.sampler].probe_id) return;
  if (ev.time_ns < begin_ns_) return;  // before BEGIN: tracing was not active yet
  KernelHitContext hit(ev.pid, ev.ppid, ev.tid, std::string(ev.comm), static_cast<int>(ev.cpu), ev.time_ns,
                       ev.in_kernel ? 0 : ev.ip);
  d::FireContext fc;
  fc.hit = &hit;
  fc.cpu = static_cast<int>(ev.cpu);
  fc.args[0] = ev.in_kernel ? ev.ip : 0;
  fc.args[1] = ev.in_kernel ? 0 : ev.ip;
  if (timeline_) timeline_->instant(hit, d::ProbeKey{"profile", "", "", samplers_[ev.sampler].name});
  if (program.fire(samplers_[ev.sampler].probe_id, fc)) exit_requested_ = true;
}

bool KernelProbes::drain(d::Program& program) {
  if (!events_ || exit_requested_) return exit_requested_;
  events_->drain([&](const kernel::KernelEvent& ev) {
    if (exit_requested_) return;  // exit(): nothing after it fires
    if (ev.kind == kernel::KernelEvent::Kind::sample) {
      fire_sample(program, ev);
      return;
    }
    auto it = by_id_.find(ev.tracepoint);
    if (it == by_id_.end()) return;
    for (const auto& t : it->second->targets) fire(program, ev, *it->second, t);
  });
  return exit_requested_;
}

void KernelProbes::report_drops() const {
  if (!events_) return;
  const auto& lost = events_->lost();
  for (size_t i = 0; i < lost.size(); ++i)
    if (lost[i])
      std::fprintf(stderr, "probekit: %llu drop%s on CPU %zu\n", static_cast<unsigned long long>(lost[i]),
                   lost[i] == 1 ? "" : "s", i);
}

Result<std::vector<KernelProbes::Listed>> KernelProbes::list(const d::ProbeDescription& desc) {
  std::vector<Listed> out;
  if (desc.provider == "syscall") return out;  // listed from the system call table
  if (is_sampler(desc)) return out;            // made on demand, as the target's samplers are
  auto named = desc.provider == "kprobe" || desc.provider == "kretprobe" || desc.provider == "fbt"
                   ? resolve_kprobe(desc, false)
                   : resolve(desc);
  if (!named) return named.error();
  for (auto& n : *named) {
    Listed l{std::move(n.key), {}};
    if (auto tp = tracepoint(n.subsystem, n.event)) l.fields = probe_fields((*tp)->format);
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace probekit::cli
