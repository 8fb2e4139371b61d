#include "engine/syscall_provider.h"

#include <sys/syscall.h>
#include <time.h>

#include <algorithm>

#include "engine/hit_context_impl.h"
#include "syscall/syscall_stop.h"
#include "syscall/syscall_table.h"

namespace probekit::engine {

namespace {

uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

bool restarts_through_restart_syscall(int nr) {
  // The calls whose interrupted sleep returns -ERESTART_RESTARTBLOCK.
  switch (nr) {
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_poll:
    case SYS_ppoll:
    case SYS_futex:
    case SYS_restart_syscall:
      return true;
    default:
      return false;
  }
}

std::vector<int> launch_filter_numbers(const std::vector<int>& requested) {
  std::vector<int> out = requested;
  if (std::any_of(out.begin(), out.end(), restarts_through_restart_syscall)) out.push_back(SYS_restart_syscall);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status SyscallProvider::check(const SyscallProbe& probe) const {
  if (probe.numbers.empty()) return Error("a syscall probe needs at least one system call number", ErrorKind::usage);
  for (int nr : probe.numbers) {
    std::string_view name = syscalls::syscall_name(nr);
    if (name.empty()) {
      return Error("unknown x86-64 system call number " + std::to_string(nr), ErrorKind::usage);
    }
    if (has_filter() && !std::binary_search(filter_.begin(), filter_.end(), nr)) {
      return Error("system call '" + std::string(name) +
                       "' is not in this session's seccomp filter; name it in LaunchOptions::trace_syscalls "
                       "before launching",
                   ErrorKind::usage);
    }
  }
  return {};
}

void SyscallProvider::add(ProbeId id, SyscallProbe probe) { probes_[id].probe = std::move(probe); }

Status SyscallProvider::set_enabled(ProbeId id, bool enabled) {
  auto it = probes_.find(id);
  if (it == probes_.end()) return Error("no probe " + std::to_string(id), ErrorKind::usage);
  it->second.probe.enabled = enabled;
  return {};
}

void SyscallProvider::remove(ProbeId id) { probes_.erase(id); }

ProbeStats SyscallProvider::stats(ProbeId id) const {
  ProbeStats st;
  auto it = probes_.find(id);
  if (it == probes_.end()) return st;
  st.hits = it->second.hits;
  std::vector<int> nrs = it->second.probe.numbers;
  std::sort(nrs.begin(), nrs.end());
  st.sites = static_cast<size_t>(std::unique(nrs.begin(), nrs.end()) - nrs.begin());
  return st;
}

bool SyscallProvider::tracing_all() const {
  if (has_filter()) return false;
  return std::any_of(probes_.begin(), probes_.end(), [](const auto& kv) { return kv.second.probe.enabled; });
}

bool SyscallProvider::wants_syscall_stops(pid_t tid) const {
  if (tracing_all()) return true;
  auto it = calls_.find(tid);
  return it != calls_.end() && it->second.await_exit;
}

void SyscallProvider::rename(pid_t from, pid_t to) {
  if (from == to) return;
  auto it = calls_.find(from);
  if (it == calls_.end()) return;
  ThreadCalls tc = it->second;
  calls_.erase(it);
  calls_[to] = tc;
}

bool SyscallProvider::matches(int nr) const {
  for (const auto& [id, rec] : probes_) {
    if (!rec.probe.enabled) continue;
    if (std::find(rec.probe.numbers.begin(), rec.probe.numbers.end(), nr) != rec.probe.numbers.end()) return true;
  }
  return false;
}

void SyscallProvider::on_stop(Thread& t, const proc::Stop& s) {
  ++stops_;
  ThreadCalls& tc = calls_[t.tid];
  auto info = proc::get_syscall_info(t.tid);
  if (info) {
    std::array<uint64_t, 6> args{};
    std::copy(std::begin(info->args), std::end(info->args), args.begin());
    switch (info->op) {
      case proc::SyscallInfo::Op::seccomp:
        tc.await_exit = false;
        on_entry(t, tc, info->nr, args, info->ip, true);
        break;
      case proc::SyscallInfo::Op::entry:
        if (has_filter()) {
          // Resumed with PTRACE_SYSCALL but no named call in flight (its exit
          // was consumed elsewhere): named calls get their seccomp stop next.
          tc.await_exit = false;
        } else {
          on_entry(t, tc, info->nr, args, info->ip, false);
        }
        break;
      case proc::SyscallInfo::Op::exit:
        tc.await_exit = false;
        on_exit(t, tc);
        break;
      case proc::SyscallInfo::Op::none:
        break;
    }
  }
  (void)s;
  control_.resume(t, ResumeKind::cont, 0);
}

void SyscallProvider::on_exec(Thread& t) {
  auto it = calls_.find(t.tid);
  if (it == calls_.end()) return;
  ThreadCalls& tc = it->second;
  tc.restarting.reset();
  tc.await_exit = false;
  if (!tc.current || (tc.current->nr != SYS_execve && tc.current->nr != SYS_execveat)) {
    tc.current.reset();
    return;
  }
  // A successful execve returns 0, and this is the last moment we are sure
  // to see it: setting up the new image may step the thread past its exit.
  Call c = *tc.current;
  tc.current.reset();
  auto regs = proc::get_regs(t.tid);
  if (!regs || !runner_.handlers_enabled(t)) return;
  SyscallEvent ev;
  ev.nr = c.nr;
  ev.args = c.args;
  ev.is_return = true;
  fire(t, *regs, ev);
}

void SyscallProvider::on_entry(Thread& t, ThreadCalls& tc, int nr, const std::array<uint64_t, 6>& args,
                               uint64_t ip, bool seccomp) {
  if (tc.restarting && ip == tc.restarting->ip && (nr == tc.restarting->nr || nr == SYS_restart_syscall)) {
    // The kernel restarts an interrupted call: same call, no second entry.
    tc.current = *tc.restarting;
    tc.restarting.reset();
    if (!matches(tc.current->nr)) {
      tc.current.reset();
      return;
    }
    tc.await_exit = seccomp;
    return;
  }
  tc.current.reset();
  if (!matches(nr) || !runner_.handlers_enabled(t)) return;
  // Every matched call takes its exit stop, even for entry-only probes: it
  // is the only way to recognise an interrupted call and not fire twice.
  tc.current = Call{nr, args, ip};
  tc.await_exit = seccomp;
  auto regs = proc::get_regs(t.tid);
  if (!regs) return;
  SyscallEvent ev;
  ev.nr = nr;
  ev.args = args;
  fire(t, *regs, ev);
}

void SyscallProvider::on_exit(Thread& t, ThreadCalls& tc) {
  if (!tc.current) return;
  Call c = *tc.current;
  tc.current.reset();
  auto regs = proc::get_regs(t.tid);
  if (!regs) return;
  auto res = syscalls::exit_result(*regs);
  if (res.restarting) {
    tc.restarting = c;
    return;
  }
  if (!runner_.handlers_enabled(t)) return;
  SyscallEvent ev;
  ev.nr = c.nr;
  ev.args = c.args;
  ev.is_return = true;
  ev.retval = res.retval;
  ev.errno_value = res.errno_value;
  fire(t, *regs, ev);
}

void SyscallProvider::fire(Thread& t, user_regs_struct& regs, const SyscallEvent& ev) {
  SiteInfo site;
  site.address = regs.rip;
  site.symbol = std::string(syscalls::syscall_name(ev.nr));
  site.raw_symbol = site.symbol;
  HitContextImpl ctx(t, site, regs, now_ns(), ppid_of_ ? ppid_of_(t.tgid) : -1);
  std::vector<ProbeId> ids;
  for (const auto& [id, rec] : probes_) ids.push_back(id);
  bool changed = false;
  for (ProbeId id : ids) {  // handlers may add or remove probes
    auto it = probes_.find(id);
    if (it == probes_.end() || !it->second.probe.enabled) continue;
    const auto& nrs = it->second.probe.numbers;
    if (std::find(nrs.begin(), nrs.end(), ev.nr) == nrs.end()) continue;
    SyscallHandler h = ev.is_return ? it->second.probe.return_handler : it->second.probe.entry_handler;
    it->second.hits++;
    if (!h) continue;
    ctx.set_destructive(it->second.probe.destructive);
    h(ctx, ev);
    changed = changed || ctx.regs_changed();
  }
  if (changed) (void)proc::set_regs(t.tid, regs);
}

}  // namespace probekit::engine
