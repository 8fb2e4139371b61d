#include "engine/session.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <x86intrin.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "engine/area_release.h"
#include "engine/hit_context_impl.h"
#include "syscall/seccomp_filter.h"
#include "util/fd.h"
#include "util/strings.h"

namespace probekit {

namespace {

bool env_naive() {
  const char* v = std::getenv("PROBEKIT_NAIVE_BREAKPOINTS");
  return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace

Result<std::unique_ptr<Session>> Session::launch(const std::vector<std::string>& argv,
                                                 const LaunchOptions& opts) {
  proc::LaunchSpec spec{argv, opts.stdin_path, opts.stdout_path};
  LaunchOptions o = opts;
  syscalls::PreparedFilter filter;
  if (!opts.trace_syscalls.empty()) {
    // Syscall probes of a launched target: a seccomp filter stops only the
    // named calls (engine/syscall_provider.h). An untraced descendant would
    // get ENOSYS from them, so every fork is followed.
    auto prepared = syscalls::prepare(engine::launch_filter_numbers(opts.trace_syscalls));
    if (!prepared) return prepared.error();
    filter = std::move(*prepared);
    o.follow_forks = true;
    spec.extra_options = PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL;
    spec.before_exec = [](const void* arg) {
      return syscalls::install_prepared(*static_cast<const syscalls::PreparedFilter*>(arg));
    };
    spec.before_exec_arg = &filter;
    spec.before_exec_what = "cannot install the seccomp filter";
  }
  auto pid = proc::launch_stopped(spec);
  if (!pid) return pid.error();
  auto s = std::make_unique<engine::SessionImpl>(o, opts.naive_breakpoints || env_naive());
  s->set_syscall_filter(filter.nrs());
  auto st = s->start_launched(*pid);
  if (!st) {
    ::kill(*pid, SIGKILL);
    return st.error();
  }
  return std::unique_ptr<Session>(std::move(s));
}

Result<std::unique_ptr<Session>> Session::attach(pid_t pid, const LaunchOptions& opts) {
  auto tids = proc::seize_all(pid);
  if (!tids) return tids.error();
  auto s = std::make_unique<engine::SessionImpl>(opts, opts.naive_breakpoints || env_naive());
  auto st = s->start_attached(*tids, pid);
  if (!st) return st.error();  // the destructor detaches
  return std::unique_ptr<Session>(std::move(s));
}

}  // namespace probekit

namespace probekit::engine {

namespace {

int wake_signal() { return SIGRTMIN + 5; }
void on_wake(int) {}

// The wake signal interrupts waitpid (no SA_RESTART) so run() sees stop()
// and deadlines; installed once and left in place (a late timer signal
// must never meet the default action, which would kill us).
void install_wake_handler() {
  static bool done = false;
  if (done) return;
  struct sigaction sa {};
  sa.sa_handler = on_wake;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ::sigaction(wake_signal(), &sa, nullptr);
  done = true;
}

uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int read_ppid(pid_t pid) {
  auto v = proc::status_field(pid, "PPid");
  if (!v) return -1;
  auto n = parse_int(*v);
  return n ? static_cast<int>(*n) : -1;
}

}  // namespace

SessionImpl::SessionImpl(LaunchOptions opts, bool naive)
    : opts_(std::move(opts)),
      naive_(naive),
      trap_(*this, *this, naive),
      syscalls_(*this, *this, [this](pid_t tgid) {
        auto it = procs_.find(tgid);
        return it != procs_.end() ? it->second.ppid : -1;
      }) {
  trap_.before_plan = [this](AddressSpace& as, uint64_t address) -> Status {
    if (!as.jump_site_covering(address)) return {};
    auto shared = shared_as(as);
    if (!shared) return Error("no process for this address space", ErrorKind::internal);
    return demote(shared, as.jump_site_covering(address)->address);
  };
}

SessionImpl::~SessionImpl() {
  if (!detached_) (void)detach_all();
}

Status SessionImpl::start_launched(pid_t pid) {
  pid_ = pid;
  launched_ = true;
  Thread t;
  t.tid = pid;
  t.tgid = pid;
  t.stopped = true;
  auto as = AddressSpace::open(pid);
  if (!as) return as.error();
  (*as)->launched = true;
  t.as = *as;
  threads_[pid] = t;
  Process p;
  p.pid = pid;
  p.as = *as;
  p.ppid = ::getpid();
  procs_[pid] = p;
  holding_ = true;  // nothing runs until run()
  return setup_address_space(procs_[pid]);
}

Status SessionImpl::start_attached(const std::vector<pid_t>& tids, pid_t pid) {
  pid_ = pid;
  auto as = AddressSpace::open(pid);
  if (!as) {
    for (pid_t tid : tids) (void)proc::detach(tid);
    detached_ = true;
    return as.error();
  }
  for (pid_t tid : tids) {
    Thread t;
    t.tid = tid;
    t.tgid = pid;
    t.as = *as;
    t.interrupt_sent = true;  // seize_all interrupted it
    threads_[tid] = t;
  }
  Process p;
  p.pid = pid;
  p.as = *as;
  p.ppid = read_ppid(pid);
  procs_[pid] = p;
  PK_TRY(hold_world());
  if (threads_.empty()) return Error("process " + std::to_string(pid) + " exited while attaching", ErrorKind::target_exited);
  (*as)->startup_done = true;
  return setup_address_space(procs_[pid]);
}

Status SessionImpl::setup_address_space(Process& p) {
  auto& as = p.as;
  // The agent first: its orphan guard must know of every patch, the
  // loader's breakpoint included, in case probekit is killed (agent.c).
  if (!as->agent && !naive_) {
    const Module* m = as->main_module() ? as->main_module() : as->interp_module();
    auto remote = remote_thread(as);
    auto agent = remote ? Agent::inject(*as, *remote, m ? m->start : 0) : Result<std::shared_ptr<Agent>>(remote.error());
    if (agent) as->agent = *agent;
    if (agent && agent_clauses_stopped_) as->agent->stop_clauses();
  }
  // The dynamic loader's r_brk (_dl_debug_state) tells us when objects are
  // mapped or unmapped: at startup (before main) and at dlopen/dlclose.
  const Module* ld = as->interp_module();
  if (!ld || !ld->elf) {
    as->startup_done = true;
  } else {
    for (const auto& s : ld->elf->symbols()) {
      if (s.name == "_r_debug") as->r_debug = s.value + ld->bias;
    }
    auto syms = ld->elf->find("_dl_debug_state");
    if (syms.empty()) {
      as->startup_done = true;
    } else {
      ResolvedSite r;
      r.address = syms.front()->value + ld->bias;
      r.info = as->site_info(r.address);
      ProbeSite* site = as->site_at(r.address);
      if (!site) {
        auto planned = trap_.plan(*as, r, [this](AddressSpace& a, uint64_t near) { return provide_slot(a, near); });
        if (planned) {
          site = planned->get();
          as->replace_site(std::move(*planned));
        } else {
          as->startup_done = true;  // cannot follow the loader: act as if everything is loaded
        }
      }
      if (site) {
        site->internal = true;
        PK_TRY(trap_.arm(*as, *site));
      }
    }
  }
  for (auto& [id, rec] : probes_) (void)place(rec, as, true);
  return {};
}

// ---------------------------------------------------------------------------
// Probes

std::shared_ptr<AddressSpace> SessionImpl::shared_as(const AddressSpace& as) const {
  for (const auto& [pid, p] : procs_) {
    if (p.as.get() == &as) return p.as;
  }
  return nullptr;
}

Result<RemoteThread> SessionImpl::remote_thread(const std::shared_ptr<AddressSpace>& as) {
  auto t = stopped_thread_in(as);
  if (!t) return t.error();
  if (!as->syscall_insn) {
    auto maps = proc::read_maps(as->pid());
    if (!maps) return maps.error();
    auto insn = proc::find_syscall_insn(as->memory(), *maps);
    if (!insn) return insn.error();
    as->syscall_insn = *insn;
  }
  RemoteThread remote{(*t)->tid, as->syscall_insn, &(*t)->held};
  if (as->agent) as->agent->guard_remote(remote);
  return remote;
}

Result<uint64_t> SessionImpl::provide_slot(AddressSpace& as, uint64_t near) {
  if (auto slot = as.take_slot(near)) return *slot;
  std::shared_ptr<AddressSpace> shared = shared_as(as);
  if (!shared) return Error("no process for this address space", ErrorKind::internal);
  auto remote = remote_thread(shared);
  if (!remote) return remote.error();
  Status result = Error("no room for an XOL area within 2GB of " + hex(near), ErrorKind::cannot_relocate);
  for (uint64_t cand : as.area_candidates(near)) {
    proc::SyscallArgs mm{SYS_mmap,
                         {cand, AddressSpace::kAreaSize, PROT_READ | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, static_cast<uint64_t>(-1), 0}};
    auto r = remote_call(*remote, mm);
    if (!r) {
      result = r.error();
      break;
    }
    if (*r == static_cast<int64_t>(cand)) {
      as.add_area(cand, AddressSpace::kAreaSize);
      result = Status{};
      break;
    }
    if (*r > 0) {
      proc::SyscallArgs un{SYS_munmap, {static_cast<uint64_t>(*r), AddressSpace::kAreaSize}};
      (void)remote_call(*remote, un);
    }
  }
  if (!result) return result.error();
  (void)as.refresh_modules();
  if (auto slot = as.take_slot(near)) return *slot;
  return Error("XOL area exhausted", ErrorKind::internal);
}

Result<Thread*> SessionImpl::stopped_thread_in(const std::shared_ptr<AddressSpace>& as) {
  if (current_ && current_->as == as) return current_;
  for (auto& [tid, t] : threads_) {
    if (t.as == as && t.stopped && t.mode == ThreadMode::normal) return &t;
  }
  if (current_) {
    return Error("cannot map an XOL area in process " + std::to_string(as->pid()) + " from a handler",
                 ErrorKind::internal);
  }
  // Outside run(): stop one thread of that address space (hold the world
  // meanwhile so it stays stopped; run() or detach() releases it).
  for (auto& [tid, t] : threads_) {
    if (t.as != as) continue;
    holding_ = true;
    if (!t.interrupt_sent && !t.stopped && t.mode == ThreadMode::normal) {
      (void)proc::interrupt(tid);
      t.interrupt_sent = true;
    }
    pid_t want = tid;
    for (;;) {
      auto it = threads_.find(want);
      if (it == threads_.end()) break;
      if (it->second.stopped && it->second.mode == ThreadMode::normal) return &it->second;
      PK_TRY(pump(true));
    }
  }
  return Error("no thread of process " + std::to_string(as->pid()) + " can be stopped", ErrorKind::target_exited);
}

Status SessionImpl::place(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as, bool pending_ok) {
  if (ReturnProbes::is_return_probe(rec.probe)) return returns_.place(rec, as, pending_ok);
  if (rec.owner) return {};  // an internal record of a return probe: placed with it
  auto resolved = as->resolve(rec.probe.where);
  if (!resolved) {
    if (as->can_wait_for(resolved.error(), rec.probe, pending_ok)) return {};
    return resolved.error();
  }
  // Plan every address before arming any (nothing is patched unless all pass).
  std::vector<ProbeSite*> targets;
  std::vector<std::unique_ptr<ProbeSite>> planned;
  std::vector<JumpSite*> jump_targets;
  std::vector<std::unique_ptr<JumpSite>> jump_planned;
  const bool wants = wants_jump(rec);
  const bool jump = wants && (run_tid_.load() == 0 || all_stopped_in(as));
  const auto& dcode = rec.probe.agent_code;
  if (dcode && !resolved->empty()) PK_TRY(ensure_dstate(as, resolved->front().address));
  for (const auto& r : *resolved) {
    ProbeSite* existing = as->site_at(r.address);
    if (existing && !existing->gone) {
      targets.push_back(existing);
      continue;
    }
    std::string refused;
    std::optional<std::vector<pk_read>> program;
    if (wants && !rec.probe.count_only && !dcode) {
      auto p = JumpBackend::program_of(*rec.probe.capture);
      if (!p) return p.error();
      program = std::move(*p);
    }
    const uint32_t regs_mask = program ? JumpBackend::regs_mask_of(*rec.probe.capture) : 0;
    std::optional<JumpOverride> ov;
    if (rec.probe.fail) ov = JumpOverride{rec.probe.fail->value, rec.probe.fail->per_million};
    if (auto it = as->jump_sites().find(r.address);
        it != as->jump_sites().end() && !it->second->gone && it->second->calls_agent) {
      // A jump return probe's entry. A record probe joins it: one
      // trampoline calls pk_agent_hit_ret (pk_agent_hit, then
      // pk_agent_ret_entry, where the probe overrides). Anything
      // else makes that return probe a trap probe (and this one follows).
      JumpSite& there = *it->second;
      if ((program || dcode) && jump && there.then_return != UINT32_MAX && there.agent) {
        auto remote = remote_thread(as);
        if (remote) {
          PK_TRY(disarm_jump(as, there));
          std::unique_ptr<JumpSite> old = std::move(it->second);
          as->jump_sites().erase(it);
          JumpCall then{old->agent->ret_entry(), old->agent->site_remote(old->then_return), true,
                        old->agent->hit_ret()};
          // (A D site's guard would skip the hijack too: none here.)
          auto js = jump_.plan(*as, r, *remote, program ? &*program : nullptr, regs_mask, nullptr, &then, dcode, {},
                               ov ? &*ov : nullptr, rec.probe.agent_overrides);
          if (js) {
            (*js)->probes = old->probes;
            (*js)->then_return = old->then_return;
            add_record_agent((*js)->agent, true);
            jump_planned.push_back(std::move(*js));
            continue;
          }
          JumpSite* back = old.get();
          as->jump_sites()[back->address] = std::move(old);
          if (jump_site_enabled(*back)) PK_TRY(arm_jump(as, *back));
        }
      }
      PK_TRY(returns_.entry_to_trap(as, r.address));
      if (ProbeSite* now = as->site_at(r.address); now && !now->gone) {
        targets.push_back(now);
        continue;
      }
    }
    auto same_program = [&](const JumpSite& js) {
      if (js.calls_agent || js.exit_ret) return false;  // a return probe's entry, exit or unwinder hook: its own
      if (ov || (js.overrides && !js.dcode))  // an override site serves the one fail probe it was made for
        return js.overrides && ov && js.override_value == ov->value && js.override_per_million == ov->per_million &&
               js.probes.empty();
      if (dcode) return js.dcode && *js.dcode == *dcode && js.guard.size() == rec.probe.agent_guard.size();
      if (js.dcode) return false;  // a D site counts nothing
      if (!program) return true;  // a count joins any jump site
      return js.records && js.regs_mask == regs_mask && js.program.size() == program->size() &&
             std::memcmp(js.program.data(), program->data(), program->size() * sizeof(pk_read)) == 0;
    };
    if (wants) {
      auto it = as->jump_sites().find(r.address);
      if (it != as->jump_sites().end() && !it->second->gone && same_program(*it->second)) {
        jump_targets.push_back(it->second.get());
        continue;
      }
      // A return probe's exit site whose window starts here (a function of
      // a few bytes): a D entry site takes it over, one jmp for both.
      if (it != as->jump_sites().end() && !it->second->gone && jump && dcode && !program && !ov &&
          it->second->exit_ret && it->second->exit_index == it->second->agent_index) {
        auto js = join_exit_site(as, r, rec, it->second);
        if (js) {
          jump_planned.push_back(std::move(*js));
          continue;
        }
        it = as->jump_sites().find(r.address);
      }
      if (it != as->jump_sites().end() && !it->second->gone) {
        const JumpSite& there = *it->second;
        refused = ov || there.overrides ? "a probe at the same address overrides the function (--fail, override()), "
                                          "and the two cannot share one jump"
                  : dcode || there.dcode ? "a jump probe running other D clauses is at the same address"
                                         : "a jump probe capturing other values is at the same address";
      } else if (jump) {
        auto remote = remote_thread(as);
        auto js = remote ? jump_.plan(*as, r, *remote, program ? &*program : nullptr, regs_mask, nullptr, nullptr,
                                      dcode, rec.probe.agent_guard, ov ? &*ov : nullptr, rec.probe.agent_overrides)
                         : Result<std::unique_ptr<JumpSite>>(remote.error());
        if (js) {
          if ((*js)->records) add_record_agent((*js)->agent, true);
          jump_planned.push_back(std::move(*js));
          continue;
        }
        refused = js.error().message();
      } else {
        refused = "armed while other threads of the program were running";
      }
      if (opts_.backend == BackendChoice::jump) {
        std::string where = r.info.symbol.empty() ? hex(r.address)
                                                  : r.info.symbol + (r.info.offset ? "+" + hex(r.info.offset) : "");
        return Error("cannot place a jump probe at '" + where + "': " + refused, ErrorKind::cannot_relocate);
      }
    }
    auto site = trap_.plan(*as, r, [this](AddressSpace& a, uint64_t near) { return provide_slot(a, near); });
    if (!site) return site.error();
    (*site)->jump_refused = refused;
    planned.push_back(std::move(*site));
  }
  for (auto& js : jump_planned) {
    JumpSite* p = js.get();
    as->jump_sites()[p->address] = std::move(js);
    jump_targets.push_back(p);
  }
  for (JumpSite* js : jump_targets) {
    if (std::find(js->probes.begin(), js->probes.end(), rec.id) != js->probes.end()) continue;
    credit(*js);  // hits before this probe joined are not its hits
    js->probes.push_back(rec.id);
    if (rec.probe.enabled) PK_TRY(arm_jump(as, *js));
  }
  for (auto& site : planned) {
    ProbeSite* p = site.get();
    as->replace_site(std::move(site));
    targets.push_back(p);
  }
  for (ProbeSite* site : targets) {
    if (std::find(site->probes.begin(), site->probes.end(), rec.id) == site->probes.end()) {
      site->probes.push_back(rec.id);
    }
    if (rec.probe.enabled) PK_TRY(trap_.arm(*as, *site));
  }
  if (rec.probe.semaphore && !resolved->empty()) {
    if (const Module* m = as->module_at(resolved->front().address)) {
      as->semaphores[m->bias + *rec.probe.semaphore].users.insert(rec.id);
      PK_TRY(sync_semaphores(*as, true));
    }
  }
  return {};
}

Status SessionImpl::sync_semaphores(AddressSpace& as, bool refresh) {
  bool pending = false;
  for (const auto& [addr, use] : as.semaphores) pending = pending || use.users.size() != use.applied;
  if (!pending) return {};
  if (refresh) (void)as.refresh_modules();
  Status result;
  for (auto& [addr, use] : as.semaphores) {
    const auto want = static_cast<uint16_t>(use.users.size());
    if (want == use.applied) continue;
    if (!as.writable(addr, sizeof(uint16_t))) {
      if (!as.mapped(addr)) use.applied = 0;  // unmapped (dlclose): nothing of ours is left there
      continue;                               // not mapped writable yet: the loader's next event
    }
    uint16_t v = 0;
    Status st = as.memory().read_exact(addr, &v, sizeof v);
    if (st) {
      v = static_cast<uint16_t>(v + want - use.applied);
      st = as.memory().write(addr, &v, sizeof v);
    }
    if (!st) {
      if (result) result = Error("cannot update the semaphore at " + hex(addr) + ": " + st.error().message(), st.error().kind());
      continue;
    }
    use.applied = want;
  }
  return result;
}

Result<ProbeId> SessionImpl::add(Probe probe) {
  if (detached_) return Error("the session is detached", ErrorKind::usage);
  if (probe.return_handler || probe.entry_handler) PK_TRY(returns_.validate(probe));
  if (probe.count_only && (probe.pre_handler || probe.post_handler || probe.fault_handler ||
                           probe.return_handler || probe.entry_handler || probe.destructive)) {
    return Error("a counting probe (count_only) has no handlers", ErrorKind::usage);
  }
  if (probe.agent_at_return && !probe.agent_code)
    return Error("agent_at_return needs agent_code", ErrorKind::usage);
  if (probe.fail) {
    if (!probe.destructive || !probe.pre_handler || probe.post_handler || probe.fault_handler ||
        probe.return_handler || probe.entry_handler || probe.agent_code || probe.count_only)
      return Error("a fail probe is destructive and has a pre_handler only", ErrorKind::usage);
    if (probe.fail->per_million > 1000000) return Error("a fail probe's rate is above 100%", ErrorKind::usage);
    if (!probe.capture) {  // the handler reads no memory and no register
      probe.capture = Probe::Capture{};
      probe.capture->registers = 0;
    }
  }
  if (probe.agent_code) {
    if (probe.count_only || probe.pre_handler || probe.post_handler || probe.fault_handler || probe.return_handler ||
        probe.entry_handler || probe.capture)
      return Error("a probe with agent code has no handlers, capture or count", ErrorKind::usage);
    if (probe.agent_at_return && (probe.data_size || probe.maxactive || !probe.agent_guard.empty()))
      return Error("a return probe's agent code has no data, maxactive or guard", ErrorKind::usage);
    if (!agent_state_) return Error("agent code needs Session::set_agent_state() first", ErrorKind::usage);
    if (opts_.backend == BackendChoice::trap || naive_)
      return Error("agent code needs the jump backend's agent", ErrorKind::unsupported);
  }
  auto main = procs_.find(pid_);
  if (main == procs_.end()) return Error("process " + std::to_string(pid_) + " has exited", ErrorKind::target_exited);
  ProbeRecord rec;
  rec.id = next_id_++;
  rec.probe = std::move(probe);
  if (rec.probe.agent_at_return) {
    // A return probe whose code runs where the function returns: a jump
    // return site runs it in the agent (return_probes.h); any other return
    // (a trap ret site, a hijack the tracer serves) runs it here, through
    // this handler, on the same state.
    const ProbeId id = rec.id;
    rec.probe.return_handler = [this, id](HitContext& ctx, void*) {
      auto p = probes_.find(id);
      auto t = threads_.find(ctx.tid());
      if (p == probes_.end() || t == threads_.end()) return;
      // override() at a return: the caller receives the value.
      if (auto v = run_agent_code(id, p->second.probe, t->second, ctx.regs(), ctx.comm(), ctx.cpu(),
                                  ctx.timestamp_ns(), ctx.return_offset().value_or(0)))
        (void)ctx.override_return(static_cast<uint64_t>(*v));
    };
    PK_TRY(returns_.validate(rec.probe));
  }
  PK_TRY(place(rec, main->second.as, false));
  for (const auto& as : address_spaces()) {
    if (as != main->second.as) (void)place(rec, as, true);
  }
  ProbeId id = rec.id;
  probes_[id] = std::move(rec);
  return id;
}

std::vector<std::shared_ptr<AddressSpace>> SessionImpl::address_spaces() const {
  std::vector<std::shared_ptr<AddressSpace>> out;
  for (const auto& [pid, p] : procs_) {
    if (p.as && std::find(out.begin(), out.end(), p.as) == out.end()) out.push_back(p.as);
  }
  return out;
}

Status SessionImpl::enable(ProbeId id) {
  if (syscalls_.owns(id)) {
    bool was = syscalls_.tracing_all();
    PK_TRY(syscalls_.set_enabled(id, true));
    if (!was && syscalls_.tracing_all()) kick_running_threads();
    return {};
  }
  if (ticker_.owns(id)) {
    PK_TRY(ticker_.set_enabled(id, true, now_ns()));
    retune_wake_timer();
    return {};
  }
  auto it = probes_.find(id);
  if (it == probes_.end()) return Error("no probe " + std::to_string(id), ErrorKind::usage);
  for (const auto& as : address_spaces()) {
    for (auto& [addr, js] : as->jump_sites()) {
      if (std::find(js->probes.begin(), js->probes.end(), id) != js->probes.end()) credit(*js);
    }
  }
  it->second.probe.enabled = true;
  for (ProbeId sub : returns_.internal_ids(id)) PK_TRY(enable(sub));
  for (const auto& as : address_spaces()) {
    for (auto& [addr, js] : as->jump_sites()) {
      if (std::find(js->probes.begin(), js->probes.end(), id) != js->probes.end()) PK_TRY(arm_jump(as, *js));
    }
    for (auto& [addr, site] : as->sites()) {
      if (std::find(site->probes.begin(), site->probes.end(), id) != site->probes.end()) {
        PK_TRY(trap_.arm(*as, *site));
      }
    }
  }
  return {};
}

Status SessionImpl::disable(ProbeId id) {
  if (syscalls_.owns(id)) return syscalls_.set_enabled(id, false);
  if (ticker_.owns(id)) {
    PK_TRY(ticker_.set_enabled(id, false, now_ns()));
    retune_wake_timer();
    return {};
  }
  auto it = probes_.find(id);
  if (it == probes_.end()) return Error("no probe " + std::to_string(id), ErrorKind::usage);
  for (const auto& as : address_spaces()) {
    for (auto& [addr, js] : as->jump_sites()) {
      if (std::find(js->probes.begin(), js->probes.end(), id) != js->probes.end()) credit(*js);
    }
  }
  it->second.probe.enabled = false;
  for (ProbeId sub : returns_.internal_ids(id)) PK_TRY(disable(sub));
  for (const auto& as : address_spaces()) {
    for (auto& [addr, js] : as->jump_sites()) {
      if (std::find(js->probes.begin(), js->probes.end(), id) == js->probes.end()) continue;
      if (!jump_site_enabled(*js)) PK_TRY(disarm_jump(as, *js));
    }
    for (auto& [addr, site] : as->sites()) {
      if (site->internal) continue;
      if (std::find(site->probes.begin(), site->probes.end(), id) == site->probes.end()) continue;
      bool any = std::any_of(site->probes.begin(), site->probes.end(), [&](ProbeId p) {
        auto r = probes_.find(p);
        return r != probes_.end() && r->second.probe.enabled;
      });
      if (!any) PK_TRY(trap_.disarm(*as, *site));
    }
  }
  return {};
}

Status SessionImpl::remove(ProbeId id) {
  if (syscalls_.owns(id)) {
    syscalls_.remove(id);
    return {};
  }
  if (ticker_.owns(id)) {
    ticker_.remove(id);
    retune_wake_timer();
    return {};
  }
  PK_TRY(disable(id));
  for (ProbeId sub : returns_.internal_ids(id)) PK_TRY(remove(sub));
  returns_.forget(id);
  for (const auto& as : address_spaces()) {
    for (auto& [addr, site] : as->sites()) {
      auto& v = site->probes;
      v.erase(std::remove(v.begin(), v.end(), id), v.end());
    }
    for (auto& [addr, js] : as->jump_sites()) {
      auto& v = js->probes;
      v.erase(std::remove(v.begin(), v.end(), id), v.end());
    }
    for (auto& [addr, use] : as->semaphores) use.users.erase(id);
    PK_TRY(sync_semaphores(*as, true));
  }
  probes_.erase(id);
  return {};
}

ProbeStats SessionImpl::stats(ProbeId id) const {
  if (syscalls_.owns(id)) return syscalls_.stats(id);
  if (ticker_.owns(id)) return ticker_.stats(id);
  ProbeStats st;
  auto it = probes_.find(id);
  if (it == probes_.end()) return st;
  st.hits = it->second.hits;
  st.missed = it->second.missed;
  if (ReturnProbes::is_return_probe(it->second.probe)) {
    st.sites = returns_.armed_sites(id);
    st.missed += returns_.jump_missed(id);
    return st;
  }
  // Jump sites: the agent's count since it was last credited. A fork
  // child's copy of a site shares the parent's counter: count it once.
  std::set<std::pair<const Agent*, uint32_t>> counted;
  for (const auto& as : address_spaces()) {
    for (const auto& [addr, site] : as->sites()) {
      if (site->armed && std::find(site->probes.begin(), site->probes.end(), id) != site->probes.end()) st.sites++;
    }
    for (const auto& [addr, js] : as->jump_sites()) {
      if (std::find(js->probes.begin(), js->probes.end(), id) == js->probes.end()) continue;
      if (js->armed) st.sites++;
      if (!it->second.probe.enabled || !counted.insert({js->agent.get(), js->agent_index}).second) continue;
      st.hits += js->agent->hits(js->agent_index) - js->agent->credited(js->agent_index);
      if (js->records && it->second.probe.capture) {
        st.missed += js->agent->dropped(js->agent_index) + js->agent->nested(js->agent_index);
      }
    }
  }
  return st;
}

std::vector<std::string> SessionImpl::describe(ProbeId id) const {
  auto it = probes_.find(id);
  if (it == probes_.end()) return {};
  if (ReturnProbes::is_return_probe(it->second.probe)) return returns_.describe(id);
  std::vector<std::string> out;
  for (const auto& as : address_spaces()) {
    for (const auto& [addr, site] : as->sites()) {
      if (site->gone || std::find(site->probes.begin(), site->probes.end(), id) == site->probes.end()) continue;
      const SiteInfo& i = site->info;
      std::string where = i.symbol.empty() ? hex(addr) : i.symbol + (i.offset ? "+" + hex(i.offset) : "");
      std::string line = "site " + where + ": " + x86::to_string(site->analysis.plan) + " (" + site->insn.text() + ")";
      if (!site->jump_refused.empty()) line += "; not a jump probe: " + site->jump_refused;
      out.push_back(line);
    }
    for (const auto& [addr, js] : as->jump_sites()) {
      if (js->gone || std::find(js->probes.begin(), js->probes.end(), id) == js->probes.end()) continue;
      const SiteInfo& i = js->info;
      std::string where = i.symbol.empty() ? hex(addr) : i.symbol + (i.offset ? "+" + hex(i.offset) : "");
      std::string form = js->dcode && js->agent ? js->agent->dprog_form_of_site(js->agent_index) : "";
      out.push_back("site " + where + ": jump, " + (js->dcode ? "D clauses run" : js->overrides ? "overridden and recorded" : js->records ? "recorded" : "counted") + " in the agent (" +
                    js->note + ")" + (form.empty() ? "" : "; " + form));
    }
  }
  return out;
}

std::vector<ModuleInfo> SessionImpl::modules() const {
  std::vector<ModuleInfo> out;
  auto it = procs_.find(pid_);
  if (it == procs_.end()) return out;
  for (const auto& m : it->second.as->modules()) out.push_back({m.name, m.path, m.bias, m.is_main});
  return out;
}

Result<std::vector<FunctionInfo>> SessionImpl::functions(const std::string& module) const {
  auto it = procs_.find(pid_);
  if (it == procs_.end()) return Error("process " + std::to_string(pid_) + " has exited", ErrorKind::target_exited);
  return it->second.as->functions(module);
}

Result<uint64_t> SessionImpl::lookup_symbol(const std::string& name) const {
  auto it = procs_.find(pid_);
  if (it == procs_.end()) return Error("process " + std::to_string(pid_) + " has exited", ErrorKind::target_exited);
  return it->second.as->lookup_symbol(name);
}

void SessionImpl::arm_pending(const std::shared_ptr<AddressSpace>& as) {
  for (auto& [id, rec] : probes_) {
    bool placed = false;
    for (const auto& [addr, site] : as->sites()) {
      if (!site->gone && std::find(site->probes.begin(), site->probes.end(), id) != site->probes.end()) {
        placed = true;
        break;
      }
    }
    for (const auto& [addr, js] : as->jump_sites()) {
      if (!js->gone && std::find(js->probes.begin(), js->probes.end(), id) != js->probes.end()) {
        placed = true;
        break;
      }
    }
    if (placed) continue;
    if (place(rec, as, true) && rec.probe.armed_handler && !describe(id).empty()) rec.probe.armed_handler(id);
  }
}

// ---------------------------------------------------------------------------
// Handlers

bool SessionImpl::run_pre(Thread& t, ProbeSite& site, user_regs_struct& regs) {
  if (site.probes.empty()) return false;
  Thread* saved = current_;
  current_ = &t;
  auto proc_it = procs_.find(t.tgid);
  int ppid = proc_it != procs_.end() ? proc_it->second.ppid : -1;
  HitContextImpl ctx(t, site.info, regs, now_ns(), ppid);
  const std::vector<ProbeId> ids = site.probes;  // handlers may add/remove probes
  for (ProbeId id : ids) {
    auto it = probes_.find(id);
    if (it == probes_.end() || !it->second.probe.enabled) continue;
    it->second.hits++;
    if (it->second.probe.agent_code) {  // the agent's code, run here: the same state as at jump sites
      if (auto v = run_agent_code(id, it->second.probe, t, regs, ctx.comm(), ctx.cpu(), ctx.timestamp_ns(), 0)) {
        ctx.set_destructive(it->second.probe.destructive);  // override(): the function returns *v at once
        (void)ctx.override_return(static_cast<uint64_t>(*v));
      }
      continue;
    }
    if (!it->second.probe.pre_handler) continue;
    ctx.set_destructive(it->second.probe.destructive);
    PreHandler h = it->second.probe.pre_handler;
    if (const auto& fail = it->second.probe.fail) {  // sampled here, as the agent samples at a jump site
      if (fail->per_million < 1000000 && fail_rng_() % 1000000 >= fail->per_million) continue;
      if (!ctx.override_return(static_cast<uint64_t>(fail->value))) continue;
    }
    h(ctx);
  }
  current_ = saved;
  return ctx.regs_changed();
}

void SessionImpl::run_post(Thread& t, ProbeSite& site, user_regs_struct& regs) {
  Thread* saved = current_;
  current_ = &t;
  auto proc_it = procs_.find(t.tgid);
  HitContextImpl ctx(t, site.info, regs, now_ns(), proc_it != procs_.end() ? proc_it->second.ppid : -1);
  const std::vector<ProbeId> ids = site.probes;
  for (ProbeId id : ids) {
    auto it = probes_.find(id);
    if (it == probes_.end() || !it->second.probe.enabled || !it->second.probe.post_handler) continue;
    ctx.set_destructive(it->second.probe.destructive);
    PostHandler h = it->second.probe.post_handler;
    h(ctx);
  }
  current_ = saved;
}

void SessionImpl::run_fault(Thread& t, ProbeSite& site, user_regs_struct& regs, int signo) {
  Thread* saved = current_;
  current_ = &t;
  auto proc_it = procs_.find(t.tgid);
  HitContextImpl ctx(t, site.info, regs, now_ns(), proc_it != procs_.end() ? proc_it->second.ppid : -1);
  const std::vector<ProbeId> ids = site.probes;
  for (ProbeId id : ids) {
    auto it = probes_.find(id);
    if (it == probes_.end() || !it->second.probe.enabled || !it->second.probe.fault_handler) continue;
    FaultHandler h = it->second.probe.fault_handler;
    h(ctx, signo);
  }
  current_ = saved;
}

bool SessionImpl::has_post(const ProbeSite& site) const {
  for (ProbeId id : site.probes) {
    auto it = probes_.find(id);
    if (it != probes_.end() && it->second.probe.enabled && it->second.probe.post_handler) return true;
  }
  return false;
}

bool SessionImpl::handlers_enabled(const Thread& t) const {
  auto it = procs_.find(t.tgid);
  return it == procs_.end() || it->second.followed;
}

void SessionImpl::on_loader_event(Thread& t) {
  auto& as = t.as;
  int state = 0;
  if (as->r_debug) {
    int v = 0;
    if (as->memory().read_exact(as->r_debug + 24, &v, sizeof v)) state = v;
  }
  // r_state: RT_CONSISTENT 0, RT_ADD 1, RT_DELETE 2. At startup ld.so says
  // RT_ADD before mapping the needed libraries and RT_CONSISTENT only after
  // relocating them and running __libc_early_init: arming then would miss
  // every IFUNC resolver and early initializer. So from RT_ADD on, the
  // thread's system calls are followed and each library is armed the moment
  // its code is mapped (on_loader_syscall), as kernel uprobes arm at mmap.
  if (state == 1) {
    t.following_loader = true;
    return;
  }
  if (state != 0) return;  // RT_DELETE: the map is not consistent yet
  t.following_loader = false;
  t.loader_exec_map = false;
  Thread* saved = current_;
  current_ = &t;
  auto changed = as->refresh_modules();
  if (changed && *changed) arm_pending(as);
  (void)sync_semaphores(*as, false);
  if (!as->startup_done && stop_at_startup_ && t.tgid == pid_) {
    // load_libraries(): keep this thread where it is (resumes are recorded,
    // not performed) and make run() return.
    holding_ = true;
    stop_requested_ = true;
  }
  as->startup_done = true;
  current_ = saved;
}

namespace {

// Every DT_NEEDED of every mapped object is mapped (by file name or
// soname): ld.so has mapped the start-up set and relocates it next. Only
// asked right after a library's code was mapped, when no other library is
// half-mapped (ld.so maps them one at a time).
bool needed_closure_mapped(const AddressSpace& as) {
  std::set<std::string> have;
  bool main_seen = false;
  for (const auto& m : as.modules()) {
    have.insert(m.name);
    if (m.elf && !m.elf->soname().empty()) have.insert(m.elf->soname());
    main_seen = main_seen || m.is_main;
  }
  if (!main_seen) return false;
  for (const auto& m : as.modules()) {
    if (!m.elf) continue;  // not an ELF object (ld.so maps /etc/ld.so.cache)
    for (const auto& lib : m.elf->needed()) {
      auto slash = lib.rfind('/');
      if (!have.count(slash == std::string::npos ? lib : lib.substr(slash + 1))) return false;
    }
  }
  return true;
}

}  // namespace

void SessionImpl::on_loader_syscall(Thread& t) {
  auto info = proc::get_syscall_info(t.tid);
  if (!info) return;
  if (info->op == proc::SyscallInfo::Op::entry) {
    // ld.so maps each segment with its final protection (mmap MAP_FIXED):
    // once the executable one is in place, the library's code will not move.
    const bool maps_code = (info->nr == SYS_mmap || info->nr == SYS_mprotect) && (info->args[2] & PROT_EXEC);
    t.loader_exec_map = maps_code;
    return;
  }
  if (info->op != proc::SyscallInfo::Op::exit || !t.loader_exec_map) return;
  t.loader_exec_map = false;
  if (info->is_error) return;
  Thread* saved = current_;
  current_ = &t;
  auto changed = t.as->refresh_modules();
  if (changed && *changed) arm_pending(t.as);
  (void)sync_semaphores(*t.as, false);
  if (!t.as->startup_done && stop_at_startup_ && t.tgid == pid_ && needed_closure_mapped(*t.as)) {
    // load_libraries(): every start-up library is mapped and none is
    // relocated yet, so probes added now see IFUNC resolvers and
    // __libc_early_init too. Keep this thread here and make run() return.
    t.as->startup_done = true;
    holding_ = true;
    stop_requested_ = true;
  }
  current_ = saved;
}

Status SessionImpl::load_libraries() {
  if (detached_) return Error("the session is detached", ErrorKind::usage);
  auto it = procs_.find(pid_);
  if (it == procs_.end()) return Error("process " + std::to_string(pid_) + " has exited", ErrorKind::target_exited);
  if (it->second.as->startup_done) return {};
  stop_at_startup_ = true;
  auto r = run(std::nullopt);
  stop_at_startup_ = false;
  if (!r) return r.error();
  if (main_exited_) {
    return Error("process " + std::to_string(pid_) + " exited before loading its libraries", ErrorKind::target_exited);
  }
  return hold_world();
}

// ---------------------------------------------------------------------------
// The wait loop

void SessionImpl::resume(Thread& t, ResumeKind kind, int signo) {
  t.resume = kind;
  t.resume_signal = signo;
  // Steps always go ahead (they end in a stop of their own, soon); everything
  // else waits while the world is held.
  if (holding_ && kind != ResumeKind::step) {
    t.stopped = true;
    return;
  }
  do_resume(t);
}

void SessionImpl::do_resume(Thread& t) {
  int sig = t.resume_signal;
  if (t.resume == ResumeKind::cont && sig == 0 && !t.held.empty() && t.mode == ThreadMode::normal) {
    sig = t.held.front();
    for (size_t i = 1; i < t.held.size(); ++i) ::syscall(SYS_tgkill, t.tgid, t.tid, t.held[i]);
    t.held.clear();
  }
  t.resume_signal = 0;
  t.stopped = false;
  switch (t.resume) {
    case ResumeKind::cont:
      // Syscall probes (and the loader, while it maps libraries) decide
      // whether the thread stops at its next syscall.
      if (syscalls_.wants_syscall_stops(t.tid) || t.following_loader) {
        (void)proc::resume_syscall(t.tid, sig);
      } else {
        (void)proc::cont(t.tid, sig);
      }
      break;
    case ResumeKind::step: (void)proc::single_step(t.tid, sig); break;
    case ResumeKind::listen:
      // PTRACE_LISTEN works from a group-stop only. A thread found stopped
      // (SIGSTOP) that then ran a remote system call for us (the mmap of an
      // XOL area) is in a trap stop instead: it takes a SIGSTOP to go back
      // to the stop it was found in (the stop is reported, passed through,
      // and ends in a group-stop that is listened to again).
      if (!proc::listen(t.tid)) (void)proc::cont(t.tid, SIGSTOP);
      break;
  }
  t.resume = ResumeKind::cont;
}

// Polls for the next stop for a short while before blocking in waitpid.
// A tracer asleep in waitpid is woken by the kernel at every hit; when its
// CPU has gone idle, and on a VM above all (a halted vCPU is woken by an
// IPI through the hypervisor), that wake-up costs more than the whole rest
// of the hit. Hot probes fire again within microseconds, so a brief poll
// catches the next stop on a CPU that is still running; a quiet target
// costs at most one window of polling per stop.
Status SessionImpl::pump_polling() {
  const uint64_t until = now_ns() + kPollWindowNs;
  do {
    auto st = proc::wait_stop(false);
    if (!st) return st.error();
    if (st->has_value()) {
      dispatch(**st);
      return {};
    }
  } while (now_ns() < until && !stop_requested_.load());
  return pump(true);
}

Status SessionImpl::pump(bool block) {
  auto st = proc::wait_stop(block);
  if (!st) return st.error();
  if (!st->has_value()) return {};
  dispatch(**st);
  return {};
}

void SessionImpl::dispatch(const proc::Stop& s) {
  using proc::StopKind;
  // Handlers run in the order of the hits: records written before this
  // stop first.
  if (records_) drain_records();
  auto it = threads_.find(s.tid);
  if (it == threads_.end() && s.kind == StopKind::exec) {
    // The exec'ing thread took over the leader's tid after the leader's
    // record went away.
    auto former = threads_.find(static_cast<pid_t>(s.event_msg));
    if (former != threads_.end()) {
      Thread t = former->second;
      threads_.erase(former);
      t.tid = s.tid;
      it = threads_.emplace(s.tid, t).first;
    }
  }
  if (it == threads_.end()) {
    if (s.kind == StopKind::exited || s.kind == StopKind::killed) {
      expected_.erase(s.tid);
      early_.erase(s.tid);
      procs_.erase(s.tid);
      return;
    }
    if (expected_.count(s.tid)) {
      adopt(s.tid);
    } else {
      early_.insert(s.tid);  // its parent's clone/fork event has not been seen yet
    }
    return;
  }
  Thread& t = it->second;
  t.stopped = true;
  if (s.kind != StopKind::exited && s.kind != StopKind::killed) {
    // Any ptrace stop consumes a pending PTRACE_INTERRUPT (the kernel clears
    // the STOP trap at every trap: a syscall stop, a hit, a signal), so the
    // interrupt is done, and a sample is taken at whatever stop came first.
    t.interrupt_sent = false;
    if (ticker_.take(t.tid) && t.mode == ThreadMode::normal && s.kind != StopKind::exec) take_sample(t);
  }
  switch (s.kind) {
    case StopKind::exited:
    case StopKind::killed:
      on_exit(s);
      return;
    case StopKind::signal:
      if (s.signo == SIGTRAP) {
        on_sigtrap(t);
      } else {
        trap_.on_signal(t, s.signo);
      }
      return;
    case StopKind::group_stop:
      resume(t, ResumeKind::listen, 0);
      return;
    case StopKind::interrupt:
      t.interrupt_sent = false;
      resume(t, t.mode == ThreadMode::normal ? ResumeKind::cont : ResumeKind::step, 0);
      return;
    case StopKind::syscall:
    case StopKind::seccomp: {
      if (s.kind == StopKind::syscall && t.following_loader) {
        on_loader_syscall(t);
        if (!syscalls_.wants_syscall_stops(t.tid)) {
          resume(t, ResumeKind::cont, 0);
          return;
        }
      }
      Thread* saved = current_;
      current_ = &t;
      syscalls_.on_stop(t, s);
      current_ = saved;
      return;
    }
    case StopKind::clone:
    case StopKind::fork:
    case StopKind::vfork:
      on_new_task(t, s.kind, static_cast<pid_t>(s.event_msg));
      if (threads_.count(s.tid)) resume(threads_[s.tid], ResumeKind::cont, 0);
      return;
    case StopKind::exec:
      on_exec(t, static_cast<pid_t>(s.event_msg));
      return;
    default:
      resume(t, ResumeKind::cont, 0);
      return;
  }
}

void SessionImpl::on_sigtrap(Thread& t) {
  if (t.mode != ThreadMode::normal) {
    trap_.on_step_trap(t);
    return;
  }
  auto r = proc::get_regs(t.tid);
  if (!r) {
    resume(t, ResumeKind::cont, 0);
    return;
  }
  user_regs_struct regs = *r;
  if (returns_.on_trap(t, regs, holding_)) return;  // the return-probe trampoline
  ProbeSite* site = t.as ? t.as->site_at(regs.rip - 1) : nullptr;
  if (site && site->armed) {
    Thread* saved = current_;
    current_ = &t;
    trap_.on_breakpoint(t, *site, regs, holding_);
    current_ = saved;
    return;
  }
  if (site) {
    // A hit on an int3 removed after it trapped: run the original instruction.
    auto si = proc::get_siginfo(t.tid);
    if (si && si->si_code == SI_KERNEL) {
      regs.rip -= 1;
      (void)proc::set_regs(t.tid, regs);
      resume(t, ResumeKind::cont, 0);
      return;
    }
  }
  resume(t, ResumeKind::cont, SIGTRAP);  // the program's own SIGTRAP
}

void SessionImpl::on_new_task(Thread& parent, proc::StopKind kind, pid_t child) {
  expected_[child] = {parent.tid, kind};
  if (kind != proc::StopKind::clone) {
    Process p;
    p.pid = child;
    p.ppid = parent.tgid;
    p.vfork_child = kind == proc::StopKind::vfork;
    p.followed = opts_.follow_forks;
    if (kind == proc::StopKind::vfork) {
      p.as = parent.as;  // same memory until it execs or exits
    } else if (opts_.follow_forks) {
      auto as = parent.as->clone_for(child);
      if (as) {
        p.as = *as;
        // The child's records carry its own pid: its private identity page
        // (a copy of the parent's) gets it before the child runs.
        for (const auto& agent : record_agents()) {
          const uint32_t id = static_cast<uint32_t>(child);
          if (agent->identity_remote()) (void)p.as->memory().write(agent->identity_remote(), &id, sizeof id);
        }
      } else {
        p.followed = false;
      }
    }
    returns_.on_fork(parent.tid, child, p.followed, kind == proc::StopKind::vfork);
    if (kind == proc::StopKind::fork && !p.followed) {
      // Its memory is a copy of ours, int3s included: put the original
      // bytes back before it runs, then let it go (adopt() detaches it).
      auto mem = proc::ProcessMemory::open(child);
      if (mem) {
        for (const auto& [addr, site] : parent.as->sites()) {
          if (site->armed && !site->gone) (void)mem->write(addr, &site->original_byte, 1);
        }
        for (const auto& [addr, js] : parent.as->jump_sites()) {
          if (!js->armed || js->gone) continue;
          (void)mem->write(addr, js->original.data(), js->patch_length);
          if (js->hop) (void)mem->write(js->hop, js->hop_original.data(), js->hop_original.size());
        }
      }
    }
    procs_[child] = p;
  }
  if (early_.count(child)) {
    early_.erase(child);
    adopt(child);
  }
}

void SessionImpl::adopt(pid_t child) {
  auto e = expected_.find(child);
  if (e == expected_.end()) return;
  auto [parent_tid, kind] = e->second;
  expected_.erase(e);
  Thread t;
  t.tid = child;
  t.stopped = true;
  if (kind == proc::StopKind::clone) {
    auto p = threads_.find(parent_tid);
    if (p == threads_.end()) {
      (void)proc::detach(child);
      return;
    }
    t.tgid = p->second.tgid;
    t.as = p->second.as;
    if (records_ && t.as) {
      // A new thread may reuse an exited one's stack and fs base: its
      // ring slot is handed over before it runs (Agent::thread_started).
      if (auto regs = proc::get_regs(child)) {
        auto name = read_file("/proc/" + std::to_string(child) + "/comm");
        const std::string comm = name ? std::string(trim(*name)) : std::string();
        for (const auto& agent : record_agents()) agent->thread_started(t.tgid, child, regs->fs_base, comm);
      }
    }
  } else {
    auto pr = procs_.find(child);
    if (pr == procs_.end()) {
      (void)proc::detach(child);
      return;
    }
    t.tgid = child;
    t.as = pr->second.as;
    if (kind == proc::StopKind::fork && !pr->second.followed) {
      auto p = threads_.find(parent_tid);
      release_child_areas(child, p == threads_.end() ? nullptr : p->second.as);
      procs_.erase(pr);
      return;
    }
  }
  auto& ref = threads_[child] = t;
  resume(ref, ResumeKind::cont, 0);
}

void SessionImpl::on_exec(Thread& t, pid_t former) {
  if (records_) drain_records(true);  // records of the old image, with its symbols
  pid_t tgid = t.tid;
  returns_.on_exec(tgid);
  syscalls_.rename(former, t.tid);  // a thread other than the leader exec'ed
  {
    Thread* saved = current_;
    current_ = &t;
    syscalls_.on_exec(t);
    current_ = saved;
  }
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->second.tgid == tgid && it->first != tgid) {
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
  (void)former;
  t.tgid = tgid;
  t.mode = ThreadMode::normal;
  t.held.clear();
  t.comm_loaded = false;
  t.interrupt_sent = false;
  t.following_loader = false;  // the new image's ld.so says RT_ADD again
  t.loader_exec_map = false;
  auto pit = procs_.find(tgid);
  if (pit == procs_.end()) {
    resume(t, ResumeKind::cont, 0);
    return;
  }
  Process& p = pit->second;
  if (!p.followed) {
    // An unfollowed vfork child left our memory: nothing of ours is in its image.
    (void)proc::detach(t.tid);
    threads_.erase(tgid);
    procs_.erase(pit);
    return;
  }
  auto as = AddressSpace::open(tgid);
  if (!as) {
    resume(t, ResumeKind::cont, 0);
    return;
  }
  (*as)->launched = true;
  if (p.as && !p.vfork_child) {
    credit_all(*p.as);  // its counters go with the old image
  }
  p.as = *as;
  p.vfork_child = false;
  t.as = *as;
  Thread* saved = current_;
  current_ = &t;
  (void)setup_address_space(p);
  current_ = saved;
  resume(t, ResumeKind::cont, 0);
}

void SessionImpl::on_exit(const proc::Stop& s) {
  auto it = threads_.find(s.tid);
  // While the thread and its process are known; all of them when the
  // process is gone (its leader exits last).
  if (records_) drain_records(it != threads_.end() && it->second.tgid == s.tid);
  if (it == threads_.end()) return;
  pid_t tgid = it->second.tgid;
  if (current_ == &it->second) current_ = nullptr;
  threads_.erase(it);
  returns_.on_thread_exit(s.tid);
  syscalls_.forget(s.tid);
  ticker_.forget(s.tid);
  if (s.tid != tgid) return;
  if (s.tid == pid_) {
    main_exited_ = true;
    main_status_ = s.kind == proc::StopKind::exited ? s.code : 128 + s.signo;
    main_signal_ = s.kind == proc::StopKind::exited ? 0 : s.signo;
  }
  auto pit = procs_.find(tgid);
  if (pit != procs_.end() && pit->second.as) {
    credit_all(*pit->second.as);
  }
  procs_.erase(tgid);
}

Status SessionImpl::hold_world() {
  holding_ = true;
  for (auto& [tid, t] : threads_) {
    if (!t.stopped && !t.interrupt_sent && t.mode == ThreadMode::normal) {
      if (proc::interrupt(tid)) t.interrupt_sent = true;
    }
  }
  for (;;) {
    bool all = expected_.empty() &&
               std::all_of(threads_.begin(), threads_.end(), [](const auto& kv) { return kv.second.stopped; });
    if (all) return {};
    auto st = pump(true);
    if (!st) {
      if (st.error().kind() == ErrorKind::target_exited) {  // ECHILD: nobody left
        threads_.clear();
        procs_.clear();
        expected_.clear();
        return {};
      }
      return st;
    }
    // New threads (clone) appear stopped; interrupt any that got resumed.
    for (auto& [tid, t] : threads_) {
      if (!t.stopped && !t.interrupt_sent && t.mode == ThreadMode::normal) {
        if (proc::interrupt(tid)) t.interrupt_sent = true;
      }
    }
  }
}

void SessionImpl::release_world() {
  holding_ = false;
  for (auto& [tid, t] : threads_) {
    if (t.stopped) do_resume(t);
  }
}

Result<int> SessionImpl::run(std::optional<double> seconds) {
  if (detached_) return Error("the session is detached", ErrorKind::usage);
  if (main_exited_ && !until_tree_exits_) return main_status_;
  install_wake_handler();
  sigset_t wake, old_mask;
  sigemptyset(&wake);
  sigaddset(&wake, wake_signal());
  ::pthread_sigmask(SIG_UNBLOCK, &wake, &old_mask);
  run_tid_ = static_cast<pid_t>(::syscall(SYS_gettid));
  // A periodic wake-up bounds how long a stop() racing with waitpid() (or a
  // deadline) can wait.
  timer_t timer{};
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = wake_signal();
  sev._sigev_un._tid = run_tid_;
  bool have_timer = ::timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0;
  if (have_timer) {
    wake_timer_ = timer;
    have_wake_timer_ = true;
    retune_wake_timer();  // 50 ms, or the shortest sampler/timer period
  }
  const uint64_t deadline =
      seconds ? now_ns() + static_cast<uint64_t>(std::max(0.0, *seconds) * 1e9) : UINT64_MAX;
  Status status;
  release_world();
  auto going = [this] { return until_tree_exits_ ? !(threads_.empty() && expected_.empty()) : !main_exited_; };
  while (going() && !stop_requested_.load() && now_ns() < deadline) {
    if (records_) drain_records();
    service_ticks();
    if (!hands_off_ && can_hand_off()) {
      if (auto st = hand_off(); !st) {
        status = st;
        break;
      }
    }
    if (hands_off_) {
      wait_hands_off(deadline);
      continue;
    }
    auto st = pump_polling();
    if (!st) {
      if (st.error().kind() == ErrorKind::target_exited) {
        main_exited_ = true;
      } else {
        status = st;
      }
      break;
    }
  }
  if (hands_off_) {
    auto st = take_back();
    if (!st && status) status = st;
  }
  if (have_timer) ::timer_delete(timer);
  have_wake_timer_ = false;
  if (records_) drain_records();
  run_tid_ = 0;
  stop_requested_ = false;
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (!status) return status.error();
  return main_exited_ ? main_status_ : -1;
}

void SessionImpl::stop() {
  stop_requested_.store(true);
  pid_t t = run_tid_.load();
  if (t) ::syscall(SYS_tgkill, ::getpid(), t, wake_signal());
}

Status SessionImpl::detach() { return detach_all(); }

Status SessionImpl::detach_all() {
  if (detached_) return {};
  if (syscalls_.has_filter() && !threads_.empty()) {
    // A seccomp filter never goes away: the target cannot live untraced.
    if (drain_abandoned_) {
      kill_tree();
    } else {
      PK_TRY(drain());
    }
  }
  Status result = hold_world();
  if (records_) drain_records(true);  // every thread is stopped: the last records
  // A thread can be interrupted right after its int3 executed: the SIGTRAP
  // stays pending behind the interrupt stop (the kernel reports job-control
  // traps before dequeuing signals) and would kill it once the int3 is gone.
  // Take that SIGTRAP now and put rip back on the instruction.
  for (auto& [tid, t] : threads_) {
    if (t.mode != ThreadMode::normal || !t.as) continue;
    auto pend = proc::status_field(tid, "SigPnd");
    auto mask = pend ? parse_uint(*pend, 16) : std::nullopt;
    if (!mask || !(*mask & (1ull << (SIGTRAP - 1)))) continue;
    auto r = proc::get_regs(tid);
    if (!r) continue;
    ProbeSite* site = t.as->site_at(r->rip - 1);
    bool ours = (site && site->armed) || (t.as->return_trampoline && r->rip - 1 == t.as->return_trampoline);
    if (!ours) continue;
    if (!proc::cont(tid, 0)) continue;
    auto st = proc::wait_thread(tid);
    if (!st) continue;
    if (st->kind == proc::StopKind::signal && st->signo != SIGTRAP) t.held.push_back(st->signo);
    user_regs_struct regs = *r;
    regs.rip -= 1;
    (void)proc::set_regs(tid, regs);
  }
  {
    // Hijacked return addresses back on every thread's stack; threads parked
    // at the trampoline (it lives in an XOL area) move to their real return
    // address first, so the XOL check below does not step them through it.
    auto st = returns_.restore_all();
    if (!st && result) result = st;
  }
  // Threads inside a copy finish it first: after detach nothing of ours runs.
  for (auto& [tid, t] : threads_) {
    auto st = trap_.leave_slot_now(t);
    if (!st && result) result = st;
  }
  for (const auto& as : address_spaces()) {
    for (auto& [addr, use] : as->semaphores) use.users.clear();  // every semaphore as found
    if (auto st = sync_semaphores(*as, true); !st && result) result = st;
    for (auto& [addr, site] : as->sites()) {
      auto st = trap_.disarm(*as, *site);
      if (!st && result) result = st;
    }
    for (auto& [addr, js] : as->jump_sites()) {
      credit(*js);
      auto st = jump_.disarm(*as, *js);
      if (!st && result) result = st;
    }
    if (as->agent && as->agent->guarding()) {  // the program's SIGTRAP action back
      auto remote = remote_thread(as);
      if (remote) (void)as->agent->retire(*remote);
    }
  }
  // Then our areas go, where no thread can still be inside one.
  for (const auto& as : address_spaces()) release_areas(as);
  for (auto& [tid, t] : threads_) {
    int sig = t.resume == ResumeKind::listen ? 0 : t.resume_signal;
    if (!sig && !t.held.empty()) {
      sig = t.held.front();
      t.held.erase(t.held.begin());
    }
    (void)proc::detach(tid, sig);
    for (int extra : t.held) ::syscall(SYS_tgkill, t.tgid, tid, extra);
  }
  threads_.clear();
  procs_.clear();
  detached_ = true;
  return result;
}

// Detach, every patch out and every thread of `as` stopped: probekit's
// areas are unmapped unless a thread could still be inside one
// (engine/area_release.h); then they all stay, as before, and
// detach_notes() says why.
void SessionImpl::release_areas(const std::shared_ptr<AddressSpace>& as) {
  auto maps = proc::read_maps(as->pid());
  if (!maps) return;
  const std::vector<AreaRange> areas = mapped_areas(*as, *maps);
  if (areas.empty()) return;
  auto keep = [&](const std::string& why) {
    detach_notes_.push_back("pid " + std::to_string(as->pid()) + ": probekit's areas stay mapped: " + why);
  };
  std::vector<Thread*> in;
  for (auto& [tid, t] : threads_) {
    if (t.as != as) continue;
    if (!t.stopped) return keep("thread " + std::to_string(tid) + " is running");
    in.push_back(&t);
  }
  for (Thread* t : in) {
    auto out = leave_areas(*t, *as, areas);
    if (!out) return keep(out.error().message());
    if (!*out) return keep("thread " + std::to_string(t->tid) + " did not leave them");
  }
  credit_all(*as);  // hits of threads stepped through a trampoline
  for (Thread* t : in) {
    StackWord word;
    auto refers = signal_frame_into(as->pid(), t->tid, *maps, areas, &word);
    if (!refers) return keep(refers.error().message());
    if (*refers) {
      return keep("a signal frame on thread " + std::to_string(t->tid) + "'s stack resumes in one (rip " +
                  hex(word.value) + " saved at " + hex(word.address) + "): its handler has not returned");
    }
  }
  auto remote = remote_thread(as);
  if (!remote) return keep(remote.error().message());
  auto back = give_back_sigtrap(*as, *remote, areas);
  if (!back) return keep(back.error().message());
  if (!*back) return keep("the program's SIGTRAP action may call the agent's");
  if (auto st = unmap_areas(*remote, areas); !st) return keep(st.error().message());
  if (as->agent) as->agent->mark_unmapped();
  as->forget_xol_areas();
}

// An unfollowed fork child, stopped at its first stop with our bytes
// already restored (on_new_task): its copies of our areas go by the same
// rule, then it is detached with any signal taken meanwhile.
void SessionImpl::release_child_areas(pid_t child, const std::shared_ptr<AddressSpace>& parent_as) {
  Thread t;
  t.tid = child;
  t.tgid = child;
  t.stopped = true;
  auto done = [&] {
    int sig = t.held.empty() ? 0 : t.held.front();
    (void)proc::detach(child, sig);
    for (size_t i = 1; i < t.held.size(); ++i) ::syscall(SYS_tgkill, child, child, t.held[i]);
  };
  if (!parent_as) return done();
  auto maps = proc::read_maps(child);
  if (!maps) return done();
  const std::vector<AreaRange> areas = mapped_areas(*parent_as, *maps);
  if (areas.empty()) return done();
  auto out = leave_areas(t, *parent_as, areas);
  auto refers = out && *out ? signal_frame_into(child, child, *maps, areas) : Result<bool>(true);
  if (!refers || *refers) return done();
  uint64_t insn = parent_as->syscall_insn;
  if (!insn) {
    auto found = proc::find_syscall_insn(parent_as->memory(), *maps);
    if (!found) return done();
    insn = *found;
  }
  RemoteThread remote{child, insn, &t.held};
  auto back = give_back_sigtrap(*parent_as, remote, areas);
  if (!back || !*back) return done();
  (void)unmap_areas(remote, areas);
  done();
}

}  // namespace probekit::engine

namespace probekit::engine {

// ---------------------------------------------------------------------------
// Providers: syscall probes, samplers, timers

Result<ProbeId> SessionImpl::add_syscall_probe(SyscallProbe probe) {
  if (detached_) return Error("the session is detached", ErrorKind::usage);
  if (procs_.find(pid_) == procs_.end()) {
    return Error("process " + std::to_string(pid_) + " has exited", ErrorKind::target_exited);
  }
  PK_TRY(syscalls_.check(probe));
  bool was = syscalls_.tracing_all();
  ProbeId id = next_id_++;
  syscalls_.add(id, std::move(probe));
  if (!was && syscalls_.tracing_all()) kick_running_threads();
  return id;
}

// Running threads were resumed with PTRACE_CONT; an interrupt stop makes
// each resume again, this time as wants_syscall_stops() says.
void SessionImpl::kick_running_threads() {
  for (auto& [tid, t] : threads_) {
    if (!t.stopped && !t.interrupt_sent && t.mode == ThreadMode::normal) {
      if (proc::interrupt(tid)) t.interrupt_sent = true;
    }
  }
}

Result<ProbeId> SessionImpl::add_sampler(double hz, PreHandler handler) {
  if (detached_) return Error("the session is detached", ErrorKind::usage);
  if (!(hz > 0 && hz <= 10000)) {
    return Error("sampling rate " + std::to_string(hz) + " Hz is out of range; give 0 < hz <= 10000",
                 ErrorKind::usage);
  }
  if (!handler) return Error("a sampler needs a handler", ErrorKind::usage);
  ProbeId id = next_id_++;
  ticker_.add_sampler(id, static_cast<uint64_t>(1e9 / hz), std::move(handler), now_ns());
  retune_wake_timer();
  return id;
}

Result<ProbeId> SessionImpl::add_timer(double seconds, std::function<void()> callback) {
  if (detached_) return Error("the session is detached", ErrorKind::usage);
  if (!(seconds >= 1e-4 && seconds <= 1e6)) {
    return Error("timer interval " + std::to_string(seconds) + " s is out of range; give 0.0001 to 1000000 seconds",
                 ErrorKind::usage);
  }
  if (!callback) return Error("a timer needs a callback", ErrorKind::usage);
  ProbeId id = next_id_++;
  ticker_.add_timer(id, static_cast<uint64_t>(seconds * 1e9), std::move(callback), now_ns());
  retune_wake_timer();
  return id;
}

void SessionImpl::retune_wake_timer() {
  if (!have_wake_timer_) return;
  // Records are drained at every wake-up: 10 ms keeps a thread's ring
  // (Agent::kRingSize) from filling below about 25 MB/s of records.
  uint64_t period = (records_ ? 10ull : 50ull) * 1000 * 1000;
  uint64_t tick = ticker_.min_period_ns();
  if (tick != 0 && tick < period) period = tick;
  itimerspec its{};
  its.it_interval.tv_sec = static_cast<time_t>(period / 1000000000ull);
  its.it_interval.tv_nsec = static_cast<long>(period % 1000000000ull);
  its.it_value = its.it_interval;
  ::timer_settime(wake_timer_, 0, &its, nullptr);
}

// After every stop and wake-up of the wait loop.
void SessionImpl::service_ticks() {
  if (!ticker_.poll(now_ns())) return;
  for (auto& [tid, t] : threads_) {
    if (t.stopped || t.interrupt_sent || t.mode != ThreadMode::normal || !handlers_enabled(t)) continue;
    if (proc::interrupt(tid)) {
      t.interrupt_sent = true;
      ticker_.mark(tid);
    }
  }
}

void SessionImpl::take_sample(Thread& t) {
  auto r = proc::get_regs(t.tid);
  if (!r || !t.as) return;
  user_regs_struct regs = *r;
  uint64_t pc = regs.rip;
  // Inside an XOL copy: the program is at the probed instruction.
  if (t.as->in_xol(pc)) {
    if (ProbeSite* site = t.as->site_for_slot_address(pc)) pc = site->address;
  }
  SiteInfo info = t.as->site_info(pc);
  auto proc_it = procs_.find(t.tgid);
  Thread* saved = current_;
  current_ = &t;
  HitContextImpl ctx(t, info, regs, now_ns(), proc_it != procs_.end() ? proc_it->second.ppid : -1);
  ticker_.sample(ctx);
  current_ = saved;
}

// Launched with a seccomp filter: serve the target, handlers off, until its
// process tree is gone (seccomp_filter.h policy).
Status SessionImpl::drain() {
  PK_TRY(hold_world());
  for (const auto& as : address_spaces()) {
    for (auto& [addr, site] : as->sites()) (void)trap_.disarm(*as, *site);
  }
  probes_.clear();
  syscalls_.clear();
  ticker_.clear();
  until_tree_exits_ = true;
  auto r = run(std::nullopt);
  until_tree_exits_ = false;
  if (!r) return r.error();
  if (!threads_.empty() || !expected_.empty()) {
    drain_abandoned_ = true;
    return Error("process " + std::to_string(pid_) +
                     " runs under a seccomp filter and cannot be detached; it stays traced and is killed "
                     "when this process exits (or when the session is destroyed)",
                 ErrorKind::usage);
  }
  return {};
}

void SessionImpl::kill_tree() {
  for (const auto& [pid, p] : procs_) ::kill(pid, SIGKILL);
  for (;;) {
    if (threads_.empty() && expected_.empty()) break;
    auto st = proc::wait_stop(true);
    if (!st) break;
    if (!st->has_value()) continue;
    const proc::Stop& s = **st;
    if (s.kind == proc::StopKind::exited || s.kind == proc::StopKind::killed) {
      threads_.erase(s.tid);
      expected_.erase(s.tid);
      procs_.erase(s.tid);
    }
  }
  threads_.clear();
  procs_.clear();
  expected_.clear();
}

}  // namespace probekit::engine

namespace probekit::engine {

// ---------------------------------------------------------------------------
// Jump probes: counting probes armed as `jmp` to an agent trampoline.

namespace {

// A probe whose handler can run on a record (Probe::capture).
bool recordable(const Probe& p) {
  return p.capture && p.pre_handler && !p.post_handler && !p.fault_handler && !p.return_handler &&
         !p.entry_handler && (!p.destructive || p.fail);  // a fail probe's agent overrides; its handler only reads
}

}  // namespace

bool SessionImpl::wants_jump(const ProbeRecord& rec) const {
  return (rec.probe.count_only || recordable(rec.probe) || rec.probe.agent_code) && !rec.owner &&
         opts_.backend != BackendChoice::trap &&
         !naive_;
}

// Patching more than one byte needs every thread of the address space
// stopped (none may be half-way through the bytes we replace).
bool SessionImpl::all_stopped_in(const std::shared_ptr<AddressSpace>& as) const {
  return expected_.empty() && std::all_of(threads_.begin(), threads_.end(), [&](const auto& kv) {
           return kv.second.as != as || kv.second.stopped;
         });
}

// Outside run() the world can be held for the patch; inside it (a loader
// event, a handler) holding it would leave every other thread's resume
// recorded until run() returns, so a jump site is patched only when the
// address space's threads are all stopped already (a launched program at
// start-up), and stays a trap site otherwise.
Status SessionImpl::stop_all_in(const std::shared_ptr<AddressSpace>& as) {
  if (all_stopped_in(as)) return {};
  if (run_tid_.load() != 0) {
    return Error("other threads of the program are running", ErrorKind::cannot_relocate);
  }
  return hold_world();
}

bool SessionImpl::jump_site_enabled(const JumpSite& site) const {
  return std::any_of(site.probes.begin(), site.probes.end(), [&](ProbeId p) {
    auto r = probes_.find(p);
    return r != probes_.end() && r->second.probe.enabled;
  });
}

// Moves the agent's count into the records of the probes enabled at the
// site, so that each probe counts only the hits while it was enabled.
void SessionImpl::credit(JumpSite& site) {
  const uint64_t now = site.agent->hits(site.agent_index);
  uint64_t& done = site.agent->credited(site.agent_index);
  if (now == done) return;
  for (ProbeId p : site.probes) {
    auto r = probes_.find(p);
    if (r != probes_.end() && r->second.probe.enabled) r->second.hits += now - done;
  }
  done = now;
}

void SessionImpl::credit_all(AddressSpace& as) {
  for (auto& [addr, js] : as.jump_sites()) credit(*js);
}

Status SessionImpl::arm_jump(const std::shared_ptr<AddressSpace>& as, JumpSite& site) {
  if (site.armed || site.gone) return {};
  PK_TRY(stop_all_in(as));
  for (auto& [tid, t] : threads_) {
    if (t.as != as || !t.stopped) continue;
    auto regs = proc::get_regs(tid);
    if (!regs) continue;
    const uint64_t to = JumpBackend::moved_rip(site, regs->rip);
    if (to == regs->rip) continue;
    regs->rip = to;
    PK_TRY(proc::set_regs(tid, *regs));
  }
  credit(site);
  return jump_.arm(*as, site);
}

Status SessionImpl::disarm_jump(const std::shared_ptr<AddressSpace>& as, JumpSite& site) {
  if (!site.armed || site.gone) return {};
  PK_TRY(stop_all_in(as));
  credit(site);
  // A thread inside the trampoline runs out of it and jumps back past the
  // displaced bytes: the trampoline stays mapped, so nothing moves. One
  // that took the jmp rel8 but not yet the hop would run the padding's
  // bytes from the middle of a NOP: it starts the function again instead
  // (it had run nothing of it).
  if (site.hop) {
    for (auto& [tid, t] : threads_) {
      if (t.as != as || !t.stopped) continue;
      auto regs = proc::get_regs(tid);
      if (!regs || regs->rip != site.hop) continue;
      regs->rip = site.address;
      PK_TRY(proc::set_regs(tid, *regs));
    }
  }
  return jump_.disarm(*as, site);
}

// ---------------------------------------------------------------------------
// Hands-off: a program whose probes are all jump probes runs untraced.

namespace {

constexpr uint64_t kGlibcTidOffset = 0x2d0;  // struct pthread's tid (glibc 2.26 and later, x86-64)

}  // namespace

// Nothing may need a stop: no trap site but the loader's breakpoint (taken
// out meanwhile), no return probe but those the agent runs (jump return
// probes), no syscall probe or sampler, no probe
// waiting for a library, one process, every thread plain, the agent's
// guard in place (if probekit dies, the agent restores the code).
bool SessionImpl::can_hand_off() const {
  if (!opts_.hands_off || hand_off_refused_ || naive_ || current_ || syscalls_.has_filter() || !syscalls_.empty() || ticker_.has_samplers() ||
      procs_.size() != 1 || !expected_.empty() || !early_.empty() || main_exited_) {
    return false;
  }
  const auto& as = procs_.begin()->second.as;
  if (!as || !as->agent || !as->agent->guarding() || !as->startup_done || as->return_trampoline) return false;
  bool any_jump = false;
  for (const auto& [addr, js] : as->jump_sites()) any_jump |= js->armed;
  if (!any_jump) return false;
  for (const auto& [addr, site] : as->sites()) {
    if (site->armed && !site->internal) return false;
  }
  for (const auto& [id, rec] : probes_) {
    if (!rec.probe.enabled) continue;
    if (returns_.agent_only(id)) continue;  // a jump return probe (or its records): needs no stop
    if (rec.probe.return_handler || rec.probe.entry_handler || rec.owner) return false;
    if (stats(id).sites == 0) return false;  // waits for a library: the loader's breakpoint is needed
  }
  for (const auto& [tid, t] : threads_) {
    if (t.mode != ThreadMode::normal || !t.held.empty() || t.resume_signal || t.following_loader ||
        t.resume != ResumeKind::cont) {
      return false;
    }
  }
  return true;
}

Status SessionImpl::hand_off() {
  auto as = procs_.begin()->second.as;
  PK_TRY(hold_world());
  if (!can_hand_off()) {  // holding the world ran stops: look again
    release_world();
    return {};
  }
  // Records tell threads apart by glibc's tid in the TCB (agent.c
  // thread_slot): a thread or fork child created meanwhile is seen by no
  // one. Every thread must show its tid there.
  for (const auto& [tid, t] : threads_) {
    auto regs = proc::get_regs(tid);
    uint32_t v = 0;
    if (!regs || !regs->fs_base || !as->memory().read_exact(regs->fs_base + kGlibcTidOffset, &v, sizeof v) ||
        v != static_cast<uint32_t>(tid)) {
      release_world();
      hand_off_refused_ = true;
      return {};
    }
  }
  for (const auto& agent : record_agents()) agent->set_tid_offset(kGlibcTidOffset);
  if (records_) drain_records(true);
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (fd < 0) {
    release_world();
    hand_off_refused_ = true;
    return {};
  }
  for (auto& [addr, site] : as->sites()) {
    if (site->internal && site->armed) {
      if (auto st = trap_.disarm(*as, *site); !st) {
        ::close(fd);
        release_world();
        return st;
      }
      site->rearm_after_hands_off = true;
    }
  }
  for (auto& [tid, t] : threads_) (void)proc::detach(tid, 0);
  threads_.clear();
  holding_ = false;
  hands_off_ = true;
  hands_off_pidfd_ = fd;
  return {};
}

// Waits for the program to exit, a timer, a stop request or the deadline.
void SessionImpl::wait_hands_off(uint64_t deadline) {
  pollfd p{hands_off_pidfd_, POLLIN, 0};
  const uint64_t now = now_ns();
  const uint64_t left_ms = deadline > now ? (deadline - now) / 1000000 : 0;
  const int timeout = static_cast<int>(std::min<uint64_t>(left_ms, records_ ? 10 : 50));
  if (::poll(&p, 1, timeout) <= 0 || !(p.revents & POLLIN)) return;
  // Gone: its last records, its status (ours to reap when we launched it).
  if (records_) drain_records(true);
  auto pit = procs_.find(pid_);
  if (pit != procs_.end() && pit->second.as) credit_all(*pit->second.as);
  main_status_ = 0;
  main_signal_ = 0;
  int status = 0;
  if (launched_ && ::waitpid(pid_, &status, __WALL) == pid_) {
    main_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    main_signal_ = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  procs_.erase(pid_);
  main_exited_ = true;
  hands_off_ = false;
  ::close(hands_off_pidfd_);
  hands_off_pidfd_ = -1;
}

// The threads back under ptrace, stopped, then running as run() leaves
// them; the loader's breakpoint back. A program that exec'ed meanwhile
// lost our code with its old image: it is set up again as at attach.
Status SessionImpl::take_back() {
  hands_off_ = false;
  ::close(hands_off_pidfd_);
  hands_off_pidfd_ = -1;
  auto tids = proc::seize_all(pid_);
  if (!tids) {
    auto pit = procs_.find(pid_);
    if (tids.error().kind() != ErrorKind::no_such_process && pit != procs_.end() && pit->second.as &&
        pit->second.as->agent) {
      // Someone else traces it now: the agent takes every patch out itself
      // once our end of its death pipe closes (agent.c), as if we died.
      pit->second.as->agent->let_go();
    }
    if (records_) drain_records(true);
    procs_.clear();
    detached_ = true;
    if (tids.error().kind() == ErrorKind::no_such_process) {
      main_exited_ = true;
      return {};
    }
    return std::move(tids).error().context("taking process " + std::to_string(pid_) + " back after running hands-off");
  }
  auto pit = procs_.find(pid_);
  if (pit == procs_.end()) return Error("process " + std::to_string(pid_) + " is not known", ErrorKind::internal);
  auto as = pit->second.as;
  for (pid_t tid : *tids) {
    Thread t;
    t.tid = tid;
    t.tgid = pid_;
    t.as = as;
    t.interrupt_sent = true;  // seize_all interrupted it
    threads_[tid] = t;
  }
  PK_TRY(hold_world());
  if (procs_.find(pid_) == procs_.end()) return {};  // it exited meanwhile
  if (records_) drain_records(true);
  const uint64_t data = as->agent ? as->agent->data_remote() : 0;
  auto maps = proc::read_maps(pid_);
  const bool same_image = maps && std::any_of(maps->begin(), maps->end(), [&](const proc::MapEntry& m) {
    return m.start == data && m.path.rfind("/memfd:probekit-agent", 0) == 0;
  });
  if (!same_image) {
    credit_all(*as);
    for (auto& [addr, site] : as->sites()) site->gone = true;
    for (auto& [addr, js] : as->jump_sites()) js->gone = true;
    auto fresh = AddressSpace::open(pid_);
    if (!fresh) return fresh.error();
    (*fresh)->startup_done = true;
    pit->second.as = *fresh;
    for (auto& [tid, t] : threads_) t.as = *fresh;
    PK_TRY(setup_address_space(pit->second));
  } else {
    for (auto& [addr, site] : as->sites()) {
      if (!site->rearm_after_hands_off) continue;
      site->rearm_after_hands_off = false;
      PK_TRY(trap_.arm(*as, *site));
    }
  }
  release_world();
  return {};
}

// ---------------------------------------------------------------------------
// Records (Probe::capture)

void SessionImpl::drain_records(bool all) {
  // Not again from a handler run by this drain (one adding a probe where a
  // record site is): the rings' tails move only when it returns.
  if (draining_) return;
  draining_ = true;
  clock_.mark();
  for (const auto& agent : record_agents()) {
    std::shared_ptr<AddressSpace> owner;
    for (const auto& as : address_spaces()) {
      if (as->agent == agent) owner = as;
    }
    if (owner) agent->learn_rseq(*owner);
    agent->drain([&](const pk_record& rec) { deliver(*agent, owner, rec); }, all);
  }
  draining_ = false;
}

void SessionImpl::deliver(Agent& agent, const std::shared_ptr<AddressSpace>& owner, const pk_record& rec) {
  auto proc_it = procs_.find(static_cast<pid_t>(rec.pid));
  std::shared_ptr<AddressSpace> as = proc_it != procs_.end() && proc_it->second.as ? proc_it->second.as : owner;
  if (!as) return;
  if (returns_.deliver(agent, rec, *as, std::string(rec.comm, ::strnlen(rec.comm, sizeof rec.comm)),
                       proc_it != procs_.end() ? proc_it->second.ppid : -1, clock_.to_ns(rec.tsc))) {
    return;
  }
  auto js_it = as->jump_sites().find(agent.site_address(rec.site));
  if (js_it == as->jump_sites().end() || js_it->second->agent.get() != &agent ||
      js_it->second->agent_index != rec.site) {
    return;  // a site taken out since (its probes removed)
  }
  const JumpSite& js = *js_it->second;
  // The thread's name when it first hit, as a trap hit reads it once.
  const std::string comm(rec.comm, ::strnlen(rec.comm, sizeof rec.comm));
  if (rec.regs_mask == PK_RECORD_DOUT) {  // what agent code asks the tracer to print
    const Probe::AgentOutput o = agent_output_of(rec, comm, clock_.to_ns(rec.tsc));
    const std::vector<ProbeId> ids = js.probes;
    for (ProbeId id : ids) {
      auto it = probes_.find(id);
      if (it == probes_.end() || !it->second.probe.enabled || !it->second.probe.agent_output) continue;
      auto handler = it->second.probe.agent_output;
      handler(o);
    }
    return;
  }
  const int ppid = proc_it != procs_.end() ? proc_it->second.ppid : -1;
  RecordHitContext ctx(rec, js.info, *as, comm, ppid, clock_.to_ns(rec.tsc));
  const std::vector<ProbeId> ids = js.probes;  // handlers may add/remove probes
  for (ProbeId id : ids) {
    auto it = probes_.find(id);
    if (it == probes_.end() || !it->second.probe.enabled || !it->second.probe.capture) continue;
    PreHandler h = it->second.probe.pre_handler;
    if (h) h(ctx);
  }
}

void SessionImpl::add_record_agent(const std::shared_ptr<Agent>& agent, bool records) {
  if (std::find(record_agents_.begin(), record_agents_.end(), agent) == record_agents_.end())
    record_agents_.push_back(agent);
  if (records && !records_) {
    records_ = true;
    retune_wake_timer();
  }
}

// ---------------------------------------------------------------------------
// Agent code (Probe::agent_code)

Status SessionImpl::set_agent_state(AgentState state) {
  if (agent_state_) return Error("the agent state is set once", ErrorKind::usage);
  if (state.part_bytes == 0 || state.part_bytes % 4096 || state.tables.size() % sizeof(pk_dagg))
    return Error("an agent state needs whole pages per thread and whole pk_dagg tables", ErrorKind::usage);
  agent_state_ = std::move(state);
  return {};
}

Status SessionImpl::ensure_dstate(const std::shared_ptr<AddressSpace>& as, uint64_t near) {
  if (as->agent && as->agent->dstate()) return {};
  auto remote = remote_thread(as);
  if (!remote) return remote.error();
  PK_TRY(Agent::ensure(*as, *remote, near));
  PK_TRY(as->agent->enable_records(*as, *remote));
  as->agent->set_native(opts_.agent_native);
  // timestamp in the agent: the session clock's line (record_context.h),
  // as ns = ns_base + (tsc - tsc_base) * mult >> 32.
  const TscClock::Line line = clock_.line();
  PK_TRY(as->agent->enable_dstate(*as, *remote, agent_state_->tables, agent_state_->self_words,
                                  agent_state_->part_bytes, agent_state_->global_words, agent_state_->init_globals,
                                  line.tsc_base, line.ns_base, line.mult, 32));
  dstate_agents_.push_back(as->agent);
  dstate_spaces_.push_back({as->agent->dstate().get(), as->pid(), as->history()});
  add_record_agent(as->agent, agent_state_->output);  // drained (output records, if any) and taught rseq for `cpu`
  return {};
}

std::optional<int64_t> SessionImpl::run_agent_code(ProbeId id, const Probe& probe, Thread& t,
                                                   const user_regs_struct& regs, const std::string& comm, int cpu,
                                                   uint64_t timestamp_ns, int64_t ret_offset) {
  // (An agent with D state is never freed: dstate_agents_ holds it, so its
  // address stays its own in dprogs_.)
  const std::shared_ptr<Agent>& agent = t.as && t.as->agent && t.as->agent->dstate() ? t.as->agent : nullptr;
  auto prog = agent ? dprogs_.find({agent.get(), id}) : dprogs_.end();
  if (agent && prog == dprogs_.end()) {
    auto p = agent->add_dprog(*probe.agent_code);
    if (p) prog = dprogs_.emplace(std::make_pair(agent.get(), id), *p).first;
  }
  if (prog == dprogs_.end()) {
    ++tracer_dprog_faults_;
    return std::nullopt;
  }
  std::vector<uint8_t> out;
  uint32_t items = 0;
  std::optional<int64_t> overridden;
  tracer_dprog_faults_ += agent->run_dprog(prog->second, regs, t.tgid, t.tid, comm, __rdtsc(), cpu, ret_offset, &out,
                                           &items, probe.agent_overrides ? &overridden : nullptr);
  if (items && probe.agent_output) {
    Probe::AgentOutput o;
    o.pid = t.tgid;
    o.tid = t.tid;
    o.cpu = cpu;
    o.comm = comm;
    o.timestamp_ns = timestamp_ns;
    o.items = out.data();
    o.bytes = out.size();
    o.nitems = items;
    auto handler = probe.agent_output;  // a copy: the handler may remove the probe
    handler(o);
  }
  return overridden;
}

std::vector<const uint8_t*> SessionImpl::agent_parts() const {
  std::vector<const uint8_t*> out;
  std::set<const SharedArea*> seen;
  for (const auto& agent : dstate_agents_) {
    const auto& area = agent->dstate();
    if (!area || !seen.insert(area.get()).second) continue;
    for (uint32_t i = 0; i < Agent::kThreads; ++i) out.push_back(area->local + uint64_t{i} * agent_state_->part_bytes);
  }
  return out;
}

std::string SessionImpl::agent_symbolize(const uint8_t* part, int pid, uint64_t addr) const {
  // The newest space first: a pid that exec'd has its latest modules last.
  for (auto it = dstate_spaces_.rbegin(); it != dstate_spaces_.rend(); ++it) {
    const bool mine = part ? part >= it->area->local && part < it->area->local + it->area->size : it->pid == pid;
    if (mine) return it->history->symbolize(addr, true);
  }
  return hex(addr);
}

std::vector<uint64_t*> SessionImpl::agent_globals() const {
  std::vector<uint64_t*> out;
  std::set<const SharedArea*> seen;
  for (const auto& agent : dstate_agents_) {
    if (!agent->dstate() || !seen.insert(agent->dstate().get()).second) continue;
    if (uint64_t* g = agent->dglobals()) out.push_back(g);
  }
  return out;
}

uint64_t SessionImpl::agent_faults() const {
  uint64_t n = tracer_dprog_faults_ + returns_.agent_faults();
  for (const auto& as : address_spaces()) {
    for (const auto& [addr, js] : as->jump_sites())
      if (js->dcode && js->agent) n += js->agent->dropped(js->agent_index);
  }
  return n;
}

void SessionImpl::stop_agent_clauses() {
  agent_clauses_stopped_ = true;
  for (const auto& as : address_spaces())
    if (as->agent) as->agent->stop_clauses();
}

std::vector<Session::Drops> SessionImpl::dropped_records() const {
  std::map<int, uint64_t> by_cpu;
  for (const auto& agent : record_agents()) {
    for (auto [cpu, n] : agent->cpu_drops()) by_cpu[cpu] += n;
  }
  std::vector<Drops> out;
  for (auto [cpu, n] : by_cpu) out.push_back({cpu, n});
  return out;
}

// A probe that needs the tracer (a handler, a breakpoint inside the
// patched bytes) arrives where a jump probe is: the jump site becomes a
// trap site carrying the same probes, with their counts kept.
Result<std::unique_ptr<JumpSite>> SessionImpl::join_exit_site(const std::shared_ptr<AddressSpace>& as,
                                                              const ResolvedSite& r, const ProbeRecord& rec,
                                                              std::unique_ptr<JumpSite>& slot) {
  auto remote = remote_thread(as);
  if (!remote) return remote.error();
  Location l;
  l.address = slot->exit_ret;
  auto ret = as->resolve(l);
  if (!ret) return ret.error();
  if (ret->empty()) return Error("no site at the exit", ErrorKind::internal);
  PK_TRY(disarm_jump(as, *slot));
  credit(*slot);
  std::unique_ptr<JumpSite> old = std::move(slot);
  as->jump_sites().erase(r.address);
  auto put_back = [&]() {
    JumpSite* back = old.get();
    as->jump_sites()[back->address] = std::move(old);
    if (jump_site_enabled(*back)) (void)arm_jump(as, *back);
  };
  const auto& dcode = rec.probe.agent_code;
  auto entry = jump_.plan(*as, r, *remote, nullptr, 0, nullptr, nullptr, dcode, rec.probe.agent_guard, nullptr,
                          rec.probe.agent_overrides);
  if (!entry) {
    put_back();
    return entry.error();
  }
  auto joined = jump_.plan_exit(*as, ret->front(), *remote, old->dcode, 0, entry->get(), old->exit_index);
  if (!joined) {
    put_back();
    return joined.error();
  }
  (*joined)->probes = old->probes;  // the return probe's; the entry probe joins as a jump target
  (*joined)->exit_probe = old->exit_probe;
  return joined;
}

Status SessionImpl::demote(const std::shared_ptr<AddressSpace>& as, uint64_t address) {
  auto it = as->jump_sites().find(address);
  if (it == as->jump_sites().end()) return {};
  if (it->second->calls_agent || it->second->then_return != UINT32_MAX) {
    // A jump return probe's entry: that return probe becomes a trap probe.
    const bool shared = !it->second->calls_agent;  // an entry probe's record site too: demoted below
    auto moved = returns_.entry_to_trap(as, address);
    if (!moved) return moved.error();
    if (!shared) {
      if (*moved) return {};
      return Error("the agent hooks the unwinder at " + hex(address) + " for jump return probes",
                   ErrorKind::cannot_relocate);
    }
    it = as->jump_sites().find(address);
    if (it == as->jump_sites().end()) return {};
  }
  if (it->second->records) {
    drain_records(true);  // the site's records, while its probes are its own
    it = as->jump_sites().find(address);
    if (it == as->jump_sites().end()) return {};
  }
  std::unique_ptr<JumpSite> js = std::move(it->second);
  PK_TRY(disarm_jump(as, *js));
  credit(*js);  // also for a site that was not armed (its module gone)
  as->jump_sites().erase(it);
  if (js->gone || js->probes.empty()) return {};
  // A return probe's exit site: its probe goes to a trap site at its ret,
  // the others (an entry D site that shared the window) at the address.
  std::vector<std::pair<uint64_t, std::vector<ProbeId>>> traps;
  std::vector<ProbeId> rest = js->probes;
  if (js->exit_ret && js->exit_probe) {
    rest.erase(std::remove(rest.begin(), rest.end(), js->exit_probe), rest.end());
    traps.push_back({js->exit_ret, {js->exit_probe}});
  }
  if (!rest.empty()) traps.push_back({js->address, rest});
  for (auto& [at, probes] : traps) {
    ResolvedSite r;
    r.address = at;
    if (at == js->address) {
      r.info = js->info;
    } else if (auto rs = as->resolve(Location{.address = at}); rs && !rs->empty()) {
      r.info = rs->front().info;
    }
    auto site = trap_.plan(*as, r, [this](AddressSpace& a, uint64_t near) { return provide_slot(a, near); });
    if (!site) return site.error();
    (*site)->probes = probes;
    (*site)->jump_refused = "another probe here needs the tracer";
    ProbeSite* p = site->get();
    as->replace_site(std::move(*site));
    const bool on = std::any_of(probes.begin(), probes.end(), [&](ProbeId id) {
      auto r2 = probes_.find(id);
      return r2 != probes_.end() && r2->second.probe.enabled;
    });
    if (on) PK_TRY(trap_.arm(*as, *p));
  }
  return {};
}

}  // namespace probekit::engine
