#include "engine/return_probes.h"

#include <time.h>

#include <algorithm>
#include <cstring>

#include "engine/hit_context_impl.h"
#include "engine/jump_backend.h"
#include "engine/record_context.h"
#include "engine/session.h"
#include "proc/ptrace.h"
#include "util/strings.h"

namespace probekit::engine {

namespace {

constexpr int kDefaultMaxActive = 64;
constexpr size_t kMaxDataSize = 4096;
// The trampoline: int3 (the return hit), then ud2 so that a hit whose
// instance was lost faults visibly here instead of running garbage.
constexpr uint8_t kTrampolineCode[] = {0xcc, 0x0f, 0x0b};
constexpr uint8_t kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};

uint64_t clock_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string offset_text(int64_t off) { return off < 0 ? "-" + hex(static_cast<uint64_t>(-off)) : "+" + hex(static_cast<uint64_t>(off)); }

bool uses_shadow_stack(pid_t pid) {
  auto v = proc::status_field(pid, "x86_Thread_features");
  return v && v->find("shstk") != std::string::npos;
}

// What a user's handler sees: the engine's context (internal records are
// destructive) with the user's probe's permissions, and for return hits the
// function as site() plus the return facts.
class UserHitContext final : public HitContext {
public:
  UserHitContext(HitContext& inner, bool destructive) : inner_(inner), destructive_(destructive) {}

  void set_return(const SiteInfo& func, std::optional<uint64_t> ret_addr, std::optional<uint64_t> ret_site,
                  bool tail) {
    func_ = &func;
    is_return_ = true;
    ret_addr_ = ret_addr;
    ret_site_ = ret_site;
    tail_ = tail;
  }

  int pid() const override { return inner_.pid(); }
  int tid() const override { return inner_.tid(); }
  int ppid() const override { return inner_.ppid(); }
  const std::string& comm() const override { return inner_.comm(); }
  int cpu() const override { return inner_.cpu(); }
  uint64_t timestamp_ns() const override { return inner_.timestamp_ns(); }
  const SiteInfo& site() const override { return func_ ? *func_ : inner_.site(); }
  const user_regs_struct& regs() const override { return inner_.regs(); }
  Result<user_regs_struct*> mutable_regs() override {
    if (!destructive_) {
      return Error("registers are read-only; register the probe with destructive = true to change them",
                   ErrorKind::permission);
    }
    return inner_.mutable_regs();
  }
  Result<user_fpregs_struct> fpregs() const override { return inner_.fpregs(); }
  Result<size_t> read(uint64_t addr, void* buf, size_t len) const override { return inner_.read(addr, buf, len); }
  Result<std::string> read_string(uint64_t addr, size_t max) const override {
    return inner_.read_string(addr, max);
  }
  Status write(uint64_t addr, const void* buf, size_t len) override {
    if (!destructive_) {
      return Error("memory is read-only; register the probe with destructive = true to write it",
                   ErrorKind::permission);
    }
    return inner_.write(addr, buf, len);
  }
  std::string symbolize(uint64_t addr, bool qualify_module) const override {
    return inner_.symbolize(addr, qualify_module);
  }
  Result<uint64_t> lookup_symbol(const std::string& name) const override { return inner_.lookup_symbol(name); }

  bool is_return() const override { return is_return_; }
  std::optional<uint64_t> return_address() const override { return ret_addr_; }
  std::optional<uint64_t> return_site() const override { return ret_site_; }
  std::optional<int64_t> return_offset() const override {
    if (!ret_site_ || !func_) return std::nullopt;
    return static_cast<int64_t>(*ret_site_ - func_->address);
  }
  bool is_tail_call() const override { return tail_; }

  Status override_return(uint64_t value) override {
    if (!destructive_) {
      return Error("override_return changes the program: register the probe with destructive = true (-w)",
                   ErrorKind::permission);
    }
    if (!is_return_) return inner_.override_return(value);
    // Every return hit (a tail call's too: it fires at the landing, after
    // the called function returned) is where the caller receives rax.
    auto regs = inner_.mutable_regs();
    if (!regs) return regs.error();
    (*regs)->rax = value;
    return {};
  }

private:
  HitContext& inner_;
  bool destructive_;
  const SiteInfo* func_ = nullptr;
  bool is_return_ = false;
  std::optional<uint64_t> ret_addr_;
  std::optional<uint64_t> ret_site_;
  bool tail_ = false;
};

}  // namespace

// ---------------------------------------------------------------------------
// Planning

Status ReturnProbes::validate(const Probe& p) const {
  if (!p.return_handler) {
    return Error("an entry_handler needs a return_handler (set return_handler to make a return probe)",
                 ErrorKind::usage);
  }
  if (p.post_handler || p.fault_handler) {
    return Error("a return probe cannot have a post_handler or fault_handler", ErrorKind::usage);
  }
  if (p.data_size > kMaxDataSize) {
    return Error("data_size " + std::to_string(p.data_size) + " is too large (at most " +
                     std::to_string(kMaxDataSize) + " bytes)",
                 ErrorKind::usage);
  }
  if (p.maxactive < 0) return Error("maxactive must not be negative", ErrorKind::usage);
  return {};
}

size_t ReturnProbes::max_active(const ProbeRecord& rec) const {
  return static_cast<size_t>(rec.probe.maxactive > 0 ? rec.probe.maxactive : kDefaultMaxActive);
}

ProbeRecord* ReturnProbes::owner_record(ProbeId id) {
  auto it = s_.probes_.find(id);
  return it == s_.probes_.end() ? nullptr : &it->second;
}

Status ReturnProbes::place(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as, bool pending_ok) {
  auto resolved = as->resolve(rec.probe.where);
  if (!resolved) {
    if (as->can_wait_for(resolved.error(), rec.probe, pending_ok)) return {};
    return resolved.error();
  }
  // Agent code: the D state where the code runs, the agent's or (a
  // return that is no jump site's) the tracer's.
  if (rec.probe.agent_code && !resolved->empty()) PK_TRY(s_.ensure_dstate(as, resolved->front().address));
  auto& existing = plans_[rec.id];
  std::vector<std::shared_ptr<ReturnPlan>> fresh;
  for (const auto& r : *resolved) {
    // "f" also matches its split-off "f.cold" part: that is not a function
    // of its own (its returns are f's), unless the user named it.
    if (r.info.raw_symbol.find(".cold") != std::string::npos &&
        rec.probe.where.symbol.find(".cold") == std::string::npos) {
      continue;
    }
    bool done = std::any_of(existing.begin(), existing.end(), [&](const auto& p) {
      return p->as == as && p->func.address == r.func_start;
    });
    if (done) continue;
    auto plan = plan_function(rec, *as, r);
    if (!plan) return plan.error();
    (*plan)->as = as;
    fresh.push_back(*plan);
  }
  // A library mapped since: the agent's unwinder hooks where jump return
  // probes are (best effort: a hook that cannot be placed now leaves the
  // program as without it, as a C program has none).
  if (std::any_of(existing.begin(), existing.end(),
                  [&](const auto& p) { return p->jump && p->exit_sites.empty() && p->as == as; }) &&
      (s_.run_tid_.load() == 0 || s_.all_stopped_in(as))) {
    if (auto remote = s_.remote_thread(as)) {
      (void)ensure_agent_hooks(as, *remote);
    }
  }
  for (auto& plan : fresh) {
    if (wants_jump(rec)) {
      auto st = arm_jump_plan(rec, as, plan);
      if (st) {
        existing.push_back(plan);
        continue;
      }
      const std::string fname = plan->func.symbol.empty() ? hex(plan->func.address) : plan->func.symbol;
      if (s_.opts_.backend == BackendChoice::jump) {
        return Error("cannot place a jump return probe on '" + fname + "': " +
                         (plan->hijack_why.empty() ? "" : "not at the exits: " + plan->hijack_why + "; no hijack: ") +
                         st.error().message(),
                     ErrorKind::cannot_relocate);
      }
      plan->jump_refused = (plan->hijack_why.empty() ? "" : "not at the exits: " + plan->hijack_why + "; no hijack: ") +
                           st.error().message();
    }
    PK_TRY(arm_plan(rec, as, plan));
    existing.push_back(plan);
  }
  return {};
}

// ---------------------------------------------------------------------------
// Jump mode (the agent hijacks; see the note in the header)

bool ReturnProbes::wants_jump(const ProbeRecord& rec) const {
  const Probe& p = rec.probe;
  return (p.capture || p.agent_code) && p.return_handler && !p.entry_handler && !p.pre_handler && !p.post_handler &&
         !p.fault_handler && p.data_size == 0 && (!p.destructive || p.agent_overrides) && p.maxactive == 0 &&
         p.mechanism == ReturnMechanism::automatic && s_.opts_.backend != BackendChoice::trap && !s_.naive_;
}

Status ReturnProbes::arm_jump_plan(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as,
                                   const std::shared_ptr<ReturnPlan>& shared) {
  ReturnPlan& plan = *shared;
  if (s_.run_tid_.load() != 0 && !s_.all_stopped_in(as)) {
    return Error("armed while other threads of the program were running", ErrorKind::cannot_relocate);
  }
  // D code runs at the function's exits where every one can take a jmp:
  // two plain jump hits a call with an entry probe, no shadow stack.
  if (rec.probe.agent_code) {
    auto at_exits = arm_exit_sites(rec, as, shared);
    if (at_exits) return {};
    plan.hijack_why = at_exits.error().message();
  }
  if (ProbeSite* site = as->site_at(plan.entry); site && !site->gone) {
    return Error("a probe at the function's entry needs the tracer", ErrorKind::cannot_relocate);
  }
  // A record or D site at the entry (an entry probe there): its trampoline
  // is replaced by one that calls pk_agent_hit and then pk_agent_ret_entry.
  bool join = false;
  if (auto it = as->jump_sites().find(plan.entry); it != as->jump_sites().end() && !it->second->gone) {
    const JumpSite& there = *it->second;
    if (!(there.records || there.dcode) || there.calls_agent || there.then_return != UINT32_MAX) {
      return Error("another jump probe is at the function's entry", ErrorKind::cannot_relocate);
    }
    join = true;
  }
  // Agent code reading the returning instruction's offset: a constant
  // only where the function has one exit (the hijack cannot tell which
  // `ret` returned).
  int64_t ret_offset = 0;
  if (rec.probe.agent_code && rec.probe.agent_reads_return_offset) {
    if (plan.exits.size() != 1) {
      return Error("its D code reads arg0 or ustack() (the returning instruction) and it has " +
                       (plan.exits.empty() ? std::string("no decoded exits") : std::to_string(plan.exits.size()) + " exits"),
                   ErrorKind::cannot_relocate);
    }
    ret_offset = static_cast<int64_t>(plan.exits.begin()->first - plan.func.address);
  }
  std::vector<pk_read> program;
  uint32_t mask = 0;
  if (!rec.probe.agent_code) {
    auto p = JumpBackend::program_of(*rec.probe.capture);
    if (!p) return p.error();
    program = std::move(*p);
    // rip: the real return address, the caller the handler reports.
    Probe::Capture capture = *rec.probe.capture;
    capture.registers |= 1u << (offsetof(user_regs_struct, rip) / 8);
    mask = JumpBackend::regs_mask_of(capture);
  }
  Location l;
  l.address = plan.entry;
  auto rs = as->resolve(l);
  if (!rs) return rs.error();
  if (rs->empty()) return Error("no site at " + hex(plan.entry), ErrorKind::internal);
  auto remote = s_.remote_thread(as);
  if (!remote) return remote.error();
  PK_TRY(Agent::ensure(*as, *remote, plan.entry));
  Agent& agent = *as->agent;
  PK_TRY(agent.enable_records(*as, *remote));
  PK_TRY(agent.enable_returns(*as, *remote));
  PK_TRY(ensure_agent_hooks(as, *remote));
  // The return site: a record site, or one running the D code (its
  // state mapped by place()).
  auto prog = rec.probe.agent_code ? agent.add_dprog(*rec.probe.agent_code) : agent.add_program(program, mask);
  if (!prog) return prog.error();
  if (rec.probe.agent_code) PK_TRY(agent.compile_native(*as, *remote, *prog));
  auto index = agent.add_site(plan.func.address, rec.probe.agent_code ? PK_ACTION_DPROG : PK_ACTION_RECORD, *prog);
  if (!index) return index.error();
  agent.mark_return_site(*index, ret_offset);
  JumpCall call{agent.ret_entry(), agent.site_remote(*index), true, agent.hit_ret()};
  std::unique_ptr<JumpSite> replaced;  // join: the entry's record site, out of the table
  if (join) {
    s_.drain_records(true);  // its records, under its own index
    auto it = as->jump_sites().find(plan.entry);
    if (it == as->jump_sites().end() || it->second->gone) return Error("the entry's jump probe went away", ErrorKind::internal);
    PK_TRY(s_.disarm_jump(as, *it->second));
    s_.credit(*it->second);
    replaced = std::move(it->second);
    as->jump_sites().erase(it);
  }
  // A D site joined keeps its code but not its guard: a call its guard
  // rejects must still be hijacked.
  std::optional<JumpOverride> ov;  // a fail probe's site keeps overriding (and then skips the hijack)
  if (join && replaced->overrides && !replaced->dcode)
    ov = JumpOverride{replaced->override_value, replaced->override_per_million};
  auto js = join ? s_.jump_.plan(*as, rs->front(), *remote, replaced->dcode ? nullptr : &replaced->program,
                                 replaced->regs_mask, nullptr, &call, replaced->dcode, {}, ov ? &*ov : nullptr,
                                 replaced->overrides && replaced->dcode)
                 : s_.jump_.plan(*as, rs->front(), *remote, nullptr, 0, &call);
  if (!js) {
    if (replaced) {  // as it was
      JumpSite* back = replaced.get();
      as->jump_sites()[back->address] = std::move(replaced);
      if (s_.jump_site_enabled(*back)) (void)s_.arm_jump(as, *back);
    }
    return js.error();
  }
  if (replaced) {
    (*js)->probes = replaced->probes;
    (*js)->then_return = *index;
  } else {
    (*js)->calls_agent = true;
    (*js)->then_return = *index;  // whose entry it is (an unwinder hook has none)
  }

  s_.add_record_agent(as->agent, !rec.probe.agent_code);  // a D return site writes no record
  plan.jump = true;
  plan.agent = as->agent;
  plan.return_index = *index;
  return_sites_[{as->agent.get(), *index}] = shared;
  const std::string fname = plan.func.symbol.empty() ? hex(plan.func.address) : plan.func.symbol;
  ProbeRecord& e = new_internal(rec.id, rec.probe.enabled, fname + ":return-entry");
  plan.entry_id = e.id;
  (*js)->probes.push_back(e.id);
  JumpSite* site = js->get();
  as->jump_sites()[site->address] = std::move(*js);
  if (s_.jump_site_enabled(*site)) PK_TRY(s_.arm_jump(as, *site));
  return {};
}

Status ReturnProbes::arm_exit_sites(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as,
                                    const std::shared_ptr<ReturnPlan>& shared) {
  ReturnPlan& plan = *shared;
  if (plan.mechanism != ReturnMechanism::ret_site) return Error(plan.reason, ErrorKind::cannot_relocate);
  if (plan.exits.empty()) return Error("no exit was found by decoding", ErrorKind::cannot_relocate);
  for (const auto& [a, e] : plan.exits) {
    if (e.kind != x86::ExitSite::Kind::ret) {
      // Its value is the callee's, known only when that returns: the
      // hijack reports what the caller receives.
      return Error("a tail call at " + offset_text(static_cast<int64_t>(a - plan.func.address)),
                   ErrorKind::cannot_relocate);
    }
  }
  auto remote = s_.remote_thread(as);
  if (!remote) return remote.error();
  std::vector<std::unique_ptr<JumpSite>> planned;
  for (const auto& [a, e] : plan.exits) {
    Location l;
    l.address = a;
    auto rs = as->resolve(l);
    if (!rs) return rs.error();
    if (rs->empty()) return Error("no site at " + hex(a), ErrorKind::internal);
    // A D site at the entry whose window holds this ret (a function of a
    // few bytes): one jmp serves both, the entry's clauses first.
    const JumpSite* entry = nullptr;
    if (auto it = as->jump_sites().find(plan.entry); it != as->jump_sites().end() && !it->second->gone) {
      entry = it->second.get();
    }
    auto js = s_.jump_.plan_exit(*as, rs->front(), *remote, rec.probe.agent_code,
                                 static_cast<int64_t>(a - plan.func.address), entry);
    if (!js) return js.error();
    for (const auto& other : planned) {  // two exits' windows in the same bytes
      if ((*js)->address < other->address + other->length && other->address < (*js)->address + (*js)->length) {
        return Error("the windows of the rets at " + offset_text(static_cast<int64_t>(other->exit_ret - plan.func.address)) +
                         " and " + offset_text(static_cast<int64_t>(a - plan.func.address)) + " overlap",
                     ErrorKind::cannot_relocate);
      }
    }
    planned.push_back(std::move(*js));
  }
  s_.add_record_agent(as->agent, false);  // its D output records are drained
  const std::string fname = plan.func.symbol.empty() ? hex(plan.func.address) : plan.func.symbol;
  ProbeRecord& x = new_internal(rec.id, rec.probe.enabled, fname + ":return");
  std::shared_ptr<ReturnPlan> keep = shared;
  // Demoted to a trap site at its ret (another probe there needs the
  // tracer): the ret-site handler runs the same code in the tracer.
  x.probe.pre_handler = [this, keep](HitContext& ctx) { on_exit(ctx, keep); };
  plan.exit_id = x.id;
  plan.jump = true;
  plan.agent = as->agent;
  plan.return_index = planned.front()->agent_index;
  plan.return_index = planned.front()->exit_index;
  std::vector<JumpSite*> sites;
  for (auto& js : planned) {
    if (auto it = as->jump_sites().find(js->address);
        js->agent_index != js->exit_index && it != as->jump_sites().end()) {
      // The entry's site it replaces (its window's start, its agent site).
      PK_TRY(s_.disarm_jump(as, *it->second));
      s_.credit(*it->second);
      as->jump_sites().erase(it);
    }
    js->probes.push_back(x.id);
    js->exit_probe = x.id;
    plan.exit_sites.emplace_back(js->exit_ret, js->exit_index);
    return_sites_[{as->agent.get(), js->exit_index}] = shared;
    sites.push_back(js.get());
    as->jump_sites()[js->address] = std::move(js);
  }
  for (JumpSite* js : sites) {
    if (s_.jump_site_enabled(*js)) PK_TRY(s_.arm_jump(as, *js));
  }
  return {};
}

Status ReturnProbes::ensure_agent_hooks(const std::shared_ptr<AddressSpace>& as, const RemoteThread& remote) {
  std::set<std::string>& done = agent_hooked_[as.get()];
  // The same functions as ensure_exception_hooks(), run in the agent.
  struct Hook {
    const char* module;
    const char* fn;
    bool is_catch;
  };
  std::vector<std::pair<std::string, std::unique_ptr<JumpSite>>> planned;
  std::vector<std::pair<std::string, std::pair<ResolvedSite, bool>>> trapped;  // not a jump site: a trap site
  for (const Hook& hook : {Hook{"libgcc_s.so.1", "_Unwind_RaiseException", false},
                           Hook{"libgcc_s.so.1", "_Unwind_Resume", false},
                           Hook{"libgcc_s.so.1", "_Unwind_ForcedUnwind", false},
                           Hook{"libgcc_s.so.1", "_Unwind_Resume_or_Rethrow", false},
                           Hook{"libstdc++.so.6", "__cxa_begin_catch", true}}) {
    if (done.count(hook.fn)) continue;
    Location l;
    l.module = hook.module;
    l.symbol = hook.fn;
    auto rs = as->resolve(l);
    if (!rs || rs->empty()) continue;  // not mapped (yet): hooked when it is
    const ResolvedSite& r = rs->front();
    auto it = as->jump_sites().find(r.address);
    if ((it != as->jump_sites().end() && !it->second->gone) || (as->site_at(r.address) && !as->site_at(r.address)->gone)) {
      return Error(std::string("another probe is on ") + hook.fn + ", which the agent must hook", ErrorKind::cannot_relocate);
    }
    JumpCall call{hook.is_catch ? as->agent->ret_catch() : as->agent->ret_unwind(), 0};
    auto js = s_.jump_.plan(*as, r, remote, nullptr, 0, &call);
    if (js) {
      (*js)->calls_agent = true;
      planned.emplace_back(hook.fn, std::move(*js));
    } else {
      trapped.emplace_back(hook.fn, std::make_pair(r, hook.is_catch));
    }
  }
  if (!agent_hooks_id_) {
    ProbeRecord rec;
    rec.id = s_.next_id_++;
    rec.owner = rec.id;  // internal: never placed by the session, never removed
    rec.probe.name = "return-probe unwind hooks (agent)";
    agent_hooks_id_ = rec.id;
    s_.probes_[rec.id] = std::move(rec);
  }
  for (auto& [fn, where] : trapped) {
    ProbeId& id = where.second ? agent_catch_trap_id_ : agent_unwind_trap_id_;
    if (!id) {
      ProbeRecord rec;
      rec.id = s_.next_id_++;
      rec.owner = rec.id;
      rec.probe.destructive = true;
      rec.probe.name = std::string("return-probe unwind hook (tracer) ") + (where.second ? "catch" : "unwind");
      if (where.second) {
        rec.probe.pre_handler = [this](HitContext& ctx) { on_agent_catch(ctx); };
      } else {
        rec.probe.pre_handler = [this](HitContext& ctx) { on_agent_unwind(ctx); };
      }
      id = rec.id;
      s_.probes_[rec.id] = std::move(rec);
    }
    ProbeSite* site = as->site_at(where.first.address);
    if (!site || site->gone) {
      auto p = s_.trap_.plan(*as, where.first, [this](AddressSpace& x, uint64_t near) { return s_.provide_slot(x, near); });
      if (!p) return Error("cannot hook " + fn + ": " + p.error().message(), ErrorKind::cannot_relocate);
      site = p->get();
      as->replace_site(std::move(*p));
    }
    if (std::find(site->probes.begin(), site->probes.end(), id) == site->probes.end()) site->probes.push_back(id);
    PK_TRY(s_.trap_.arm(*as, *site));
    done.insert(fn);
  }
  for (auto& [fn, js] : planned) {
    js->probes.push_back(agent_hooks_id_);
    JumpSite* site = js.get();
    as->jump_sites()[site->address] = std::move(js);
    done.insert(fn);
    PK_TRY(s_.arm_jump(as, *site));
  }
  return {};
}

bool ReturnProbes::deliver(Agent& agent, const pk_record& r, AddressSpace& as, const std::string& comm, int ppid,
                           uint64_t ns) {
  auto it = return_sites_.find({&agent, r.site});
  if (it == return_sites_.end()) return false;
  const auto& plan = it->second;
  ProbeRecord* rec = owner_record(plan->owner);
  // Not jump any more (entry_to_trap): the trap backend reports its returns.
  if (!rec || !rec->probe.enabled || !plan->jump) return true;
  if (r.regs_mask == PK_RECORD_DOUT) {  // what the D code run at the return asks the tracer to print
    if (rec->probe.agent_output) {
      auto handler = rec->probe.agent_output;
      handler(agent_output_of(r, comm, ns));
    }
    return true;
  }
  RecordHitContext ctx(r, plan->func, as, comm, ppid, ns);
  rec->hits++;
  UserHitContext uc(ctx, false);
  uc.set_return(plan->func, ctx.regs().rip, std::nullopt, false);
  ReturnHandler h = rec->probe.return_handler;
  if (h) h(uc, nullptr);
  return true;
}

bool ReturnProbes::agent_only(ProbeId id) const {
  if (id && id == agent_hooks_id_) return true;
  auto it = plans_.find(id);
  if (it != plans_.end()) {
    return !it->second.empty() &&
           std::all_of(it->second.begin(), it->second.end(), [](const auto& p) { return p->jump; });
  }
  for (const auto& [owner, plans] : plans_) {
    for (const auto& p : plans) {
      if (p->jump && (p->entry_id == id || (!p->exit_sites.empty() && p->exit_id == id))) return true;
    }
  }
  return false;
}

uint64_t ReturnProbes::jump_missed(ProbeId owner) const {
  auto it = plans_.find(owner);
  if (it == plans_.end()) return 0;
  auto rec = s_.probes_.find(owner);
  if (rec != s_.probes_.end() && rec->second.probe.agent_code) return 0;  // its dropped are abandoned clauses: agent_faults()
  uint64_t n = 0;
  for (const auto& p : it->second) {
    if (p->jump && p->agent) n += p->agent->dropped(p->return_index) + p->agent->nested(p->return_index);
    for (size_t i = 1; p->jump && p->agent && i < p->exit_sites.size(); ++i)
      n += p->agent->dropped(p->exit_sites[i].second) + p->agent->nested(p->exit_sites[i].second);
  }
  return n;
}

uint64_t ReturnProbes::agent_faults() const {
  uint64_t n = 0;
  for (const auto& [owner, plans] : plans_) {
    auto rec = s_.probes_.find(owner);
    if (rec == s_.probes_.end() || !rec->second.probe.agent_code) continue;
    for (const auto& p : plans) {
      if (p->agent) n += p->agent->dropped(p->return_index);
      for (size_t i = 1; p->agent && i < p->exit_sites.size(); ++i) n += p->agent->dropped(p->exit_sites[i].second);
    }
  }
  return n;
}

Result<bool> ReturnProbes::entry_to_trap(const std::shared_ptr<AddressSpace>& as, uint64_t address) {
  auto it = as->jump_sites().find(address);
  if (it == as->jump_sites().end() || it->second->gone) return false;
  for (auto& [owner, plans] : plans_) {
    for (auto& p : plans) {
      if (!p->jump || !p->entry_id) continue;
      const auto& ids = it->second->probes;
      if (std::find(ids.begin(), ids.end(), p->entry_id) == ids.end()) continue;
      ProbeRecord* rec = owner_record(owner);
      if (!rec) return false;
      if (!it->second->calls_agent) {
        // A record site that also hijacks: it loses the hijack only (its
        // trampoline keeps calling pk_agent_ret_entry until it is replaced;
        // the entry record gone, the return site's records are not
        // reported twice: see deliver()).
        auto& ids2 = it->second->probes;
        ids2.erase(std::remove(ids2.begin(), ids2.end(), p->entry_id), ids2.end());
      } else {
        PK_TRY(s_.disarm_jump(as, *it->second));
        as->jump_sites().erase(it);
      }
      s_.probes_.erase(p->entry_id);
      p->entry_id = 0;
      p->jump = false;  // its return site stays in return_sites_: hijacked frames still return
      p->jump_refused = "a probe that needs the tracer arrived at its entry";
      PK_TRY(arm_plan(*rec, as, p));
      return true;
    }
  }
  return false;
}

bool ReturnProbes::edit_agent_stack(Thread& t, uint64_t fs_base,
                                    const std::function<void(pk_shadow_stack&)>& edit) {
  if (!t.as) return false;
  // A fork child's stacks are its parent's copy, with its parent's agent.
  Agent* owner = t.as->agent ? t.as->agent.get() : t.as->inherited.get();
  if (!owner || !owner->shadow_remote()) return false;
  const auto& mem = t.as->memory();
  const uint64_t stacks = owner->shadow_remote() + offsetof(pk_shadow_area, stacks);
  const uint64_t fs = fs_base ? fs_base : 1;
  std::vector<pk_shadow_stack> all(PK_SHADOW_THREADS);
  if (!mem.read_exact(stacks, all.data(), all.size() * sizeof(pk_shadow_stack))) return false;
  for (uint32_t i = 0; i < PK_SHADOW_THREADS; ++i) {
    if (all[i].key != fs) continue;
    pk_shadow_stack& st = all[i];
    st.depth = std::min<uint32_t>(st.depth, PK_SHADOW_DEPTH);
    edit(st);
    const uint64_t at = stacks + uint64_t{i} * sizeof(pk_shadow_stack);
    return static_cast<bool>(mem.write(at, &st, sizeof st));
  }
  return false;
}

void ReturnProbes::restore_agent_frames(Thread& t, uint64_t rsp) {
  auto regs = proc::get_regs(t.tid);
  if (!regs || !t.as) return;
  const auto& mem = t.as->memory();
  (void)edit_agent_stack(t, regs->fs_base, [&](pk_shadow_stack& st) {
    for (uint32_t k = 0; k < st.depth; ++k) {
      const pk_shadow_frame& f = st.frames[k];
      if (f.sp < rsp) continue;
      uint64_t v = 0;
      if (mem.read_exact(f.sp, &v, sizeof v) && v == f.rp) (void)mem.write(f.sp, &f.orig, sizeof f.orig);
    }
  });
}

// The unwinder's hooks where the agent cannot run them (a trap site: the
// unwinder's entry points end in an indirect jmp, which no jmp patch is
// allowed beside): what agent.c pk_agent_ret_unwind/catch do, through the
// thread's memory, the thread stopped.
void ReturnProbes::on_agent_unwind(HitContext& ctx) {
  Thread* t = s_.current_;
  if (!t || !t->as) return;
  const uint64_t rsp = ctx.regs().rsp;
  const auto& mem = t->as->memory();
  (void)edit_agent_stack(*t, ctx.regs().fs_base, [&](pk_shadow_stack& st) {
    for (uint32_t k = 0; k < st.depth; ++k) {
      pk_shadow_frame& f = st.frames[k];
      if (f.sp < rsp || f.unhooked) continue;
      uint64_t v = 0;
      if (mem.read_exact(f.sp, &v, sizeof v) && v == f.rp) (void)mem.write(f.sp, &f.orig, sizeof f.orig);
      f.unhooked = 1;
    }
  });
}

void ReturnProbes::on_agent_catch(HitContext& ctx) {
  Thread* t = s_.current_;
  if (!t || !t->as) return;
  const uint64_t rsp = ctx.regs().rsp;
  const auto& mem = t->as->memory();
  (void)edit_agent_stack(*t, ctx.regs().fs_base, [&](pk_shadow_stack& st) {
    while (st.depth && st.frames[st.depth - 1].sp <= rsp) {
      st.depth--;
      st.missed++;
    }
    for (uint32_t k = 0; k < st.depth; ++k) {
      pk_shadow_frame& f = st.frames[k];
      if (!f.unhooked) continue;
      uint64_t v = 0;
      if (!mem.read_exact(f.sp, &v, sizeof v)) continue;
      if (v == f.orig) (void)mem.write(f.sp, &f.rp, sizeof f.rp);
      if (v == f.orig || v == f.rp) f.unhooked = 0;
    }
  });
}

Result<std::shared_ptr<ReturnPlan>> ReturnProbes::plan_function(const ProbeRecord& rec, AddressSpace& as,
                                                                  const ResolvedSite& r) {
  const std::string name = r.info.symbol.empty() ? hex(r.address) : r.info.symbol;
  if (!r.func_start) {
    return Error("a return probe needs a function: no symbol covers " + hex(r.address), ErrorKind::usage);
  }
  if (r.address != r.func_start) {
    uint8_t head[4] = {};
    bool endbr = r.address == r.func_start + 4 && as.read_original(r.func_start, head, 4) &&
                 std::memcmp(head, kEndbr64, 4) == 0;
    if (!endbr) {
      return Error("a return probe goes on a function's entry: '" + name + "+" + hex(r.address - r.func_start) +
                       "' is not one; name the function without an offset",
                   ErrorKind::usage);
    }
  }
  auto plan = std::make_shared<ReturnPlan>();
  plan->owner = rec.id;
  plan->func = r.info;
  plan->func.address = r.func_start;
  plan->func.offset = 0;
  plan->func.symbol_address = r.func_start;
  plan->entry = r.address;

  // ret-site: every exit of the body and of its FUNC.cold parts.
  std::string why;
  if (rec.probe.mechanism != ReturnMechanism::hijack) {
    const Module* m = as.module_at(r.func_start);
    struct Part {
      uint64_t start, size;
      std::string name;
    };
    std::vector<Part> parts;
    if (!r.func_size) {
      why = "its size is unknown";
    } else {
      parts.push_back({r.func_start, r.func_size, name});
      if (m && m->elf && !r.info.raw_symbol.empty()) {
        const std::string cold = r.info.raw_symbol + ".cold";
        for (const auto& s : m->elf->symbols()) {
          if (s.kind == elf::SymbolKind::function && s.size && starts_with(s.name, cold)) {
            parts.push_back({s.value + m->bias, s.size, s.demangled});
          }
        }
      }
    }
    auto own = [&parts](uint64_t a) {
      return std::any_of(parts.begin(), parts.end(), [a](const Part& p) { return a >= p.start && a < p.start + p.size; });
    };
    for (const auto& part : parts) {
      if (!why.empty()) break;
      std::vector<uint8_t> bytes(part.size);
      auto st = as.read_original(part.start, bytes.data(), bytes.size());
      if (!st) {
        why = "its code cannot be read";
        break;
      }
      auto exits = x86::find_exits(bytes, part.start, own);
      if (!exits) {
        why = "it cannot be decoded (" + exits.error().message() + ")";
        break;
      }
      for (const auto& e : *exits) {
        if (e.kind == x86::ExitSite::Kind::indirect_jmp) {
          std::string where = part.start == r.func_start ? offset_text(static_cast<int64_t>(e.address - part.start))
                                                         : part.name + "+" + hex(e.address - part.start);
          why = "indirect jmp at " + where;
          break;
        }
        plan->exits[e.address] = e;
      }
    }
    if (why.empty()) {
      plan->mechanism = ReturnMechanism::ret_site;
      plan->tracks_entries = static_cast<bool>(rec.probe.entry_handler) || rec.probe.data_size > 0;
      return plan;
    }
    plan->exits.clear();
    if (rec.probe.mechanism == ReturnMechanism::ret_site) {
      return Error("cannot probe the returns of '" + name + "' at their ret sites: " + why +
                       "; use the hijack mechanism",
                   ErrorKind::unsupported);
    }
  }
  plan->mechanism = ReturnMechanism::hijack;
  plan->reason = why.empty() ? "forced" : why;
  if (uses_shadow_stack(as.pid())) {
    return Error("cannot probe the returns of '" + name + "' by return-address hijack: process " +
                     std::to_string(as.pid()) + " uses a CET shadow stack" + (why.empty() ? "" : " (and " + why + ")"),
                 ErrorKind::unsupported);
  }
  return plan;
}

ProbeRecord& ReturnProbes::new_internal(ProbeId owner, bool enabled, const std::string& name) {
  ProbeRecord rec;
  rec.id = s_.next_id_++;
  rec.owner = owner;
  rec.probe.destructive = true;  // the engine's own handlers write registers and stacks
  rec.probe.name = name;
  rec.probe.enabled = enabled;
  ProbeId id = rec.id;
  return s_.probes_[id] = std::move(rec);
}

Status ReturnProbes::arm_plan(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as,
                              const std::shared_ptr<ReturnPlan>& shared) {
  ReturnPlan& plan = *shared;
  // Plan every site before any int3 is written (same rule as SessionImpl::place).
  std::vector<uint64_t> addrs;
  bool need_entry = plan.mechanism == ReturnMechanism::hijack || plan.tracks_entries ||
                    static_cast<bool>(rec.probe.pre_handler);
  if (need_entry) addrs.push_back(plan.entry);
  for (const auto& [a, e] : plan.exits) addrs.push_back(a);
  if (plan.mechanism == ReturnMechanism::hijack) {
    auto tr = trampoline(as);
    if (!tr) return tr.error();
  }
  std::vector<std::unique_ptr<ProbeSite>> planned;
  for (uint64_t a : addrs) {
    ProbeSite* site = as->site_at(a);
    if (site && !site->gone) continue;
    if (std::any_of(planned.begin(), planned.end(), [a](const auto& p) { return p->address == a; })) continue;
    Location l;
    l.address = a;
    auto rs = as->resolve(l);
    if (!rs) return rs.error();
    auto p = s_.trap_.plan(*as, rs->front(), [this](AddressSpace& x, uint64_t near) { return s_.provide_slot(x, near); });
    if (!p) return p.error();
    planned.push_back(std::move(*p));
  }
  for (auto& p : planned) as->replace_site(std::move(p));

  const std::string fname = plan.func.symbol.empty() ? hex(plan.func.address) : plan.func.symbol;
  if (need_entry) {
    ProbeRecord& e = new_internal(rec.id, rec.probe.enabled, fname + ":return-entry");
    std::shared_ptr<ReturnPlan> keep = shared;
    e.probe.pre_handler = [this, keep](HitContext& ctx) { on_entry(ctx, keep); };
    plan.entry_id = e.id;
    PK_TRY(place_internal(e.id, as, plan.entry));
  }
  const bool tail_calls = std::any_of(plan.exits.begin(), plan.exits.end(), [](const auto& e) {
    return e.second.kind == x86::ExitSite::Kind::tail_call;
  });
  if (tail_calls) {
    // Its sites are the callers' return addresses, placed as tail calls are seen.
    ProbeRecord& l = new_internal(rec.id, rec.probe.enabled, fname + ":return-landing");
    l.probe.pre_handler = [this](HitContext& ctx) { on_landing(ctx); };
    plan.landing_id = l.id;
  }
  if (!plan.exits.empty()) {
    ProbeRecord& x = new_internal(rec.id, rec.probe.enabled, fname + ":return");
    std::shared_ptr<ReturnPlan> keep = shared;
    x.probe.pre_handler = [this, keep](HitContext& ctx) { on_exit(ctx, keep); };
    plan.exit_id = x.id;
    for (const auto& [a, e] : plan.exits) PK_TRY(place_internal(x.id, as, a));
  }
  // Hijack rewrites return addresses; landings wait at callers' return
  // addresses, and a catch says which of them will never be reached.
  if (plan.mechanism == ReturnMechanism::hijack || plan.landing_id) PK_TRY(ensure_exception_hooks());
  return {};
}

Status ReturnProbes::place_internal(ProbeId id, const std::shared_ptr<AddressSpace>& as, uint64_t address) {
  ProbeSite* site = as->site_at(address);
  if (!site || site->gone) return Error("no site planned at " + hex(address), ErrorKind::internal);
  if (std::find(site->probes.begin(), site->probes.end(), id) == site->probes.end()) site->probes.push_back(id);
  auto it = s_.probes_.find(id);
  if (it != s_.probes_.end() && it->second.probe.enabled) PK_TRY(s_.trap_.arm(*as, *site));
  return {};
}

Result<uint64_t> ReturnProbes::trampoline(const std::shared_ptr<AddressSpace>& as) {
  if (as->return_trampoline) return as->return_trampoline;
  const Module* m = as->main_module();
  auto slot = s_.provide_slot(*as, m ? m->start : 0);
  if (!slot) return slot.error();
  PK_TRY(as->memory().write(*slot, kTrampolineCode, sizeof kTrampolineCode));
  as->return_trampoline = *slot;
  return *slot;
}

Status ReturnProbes::ensure_exception_hooks() {
  if (hooks_added_) return {};
  hooks_added_ = true;
  // _Unwind_RaiseException: __cxa_throw and __cxa_rethrow end in it (and
  // std::rethrow_exception); _Unwind_Resume continues after a cleanup pad;
  // _Unwind_ForcedUnwind is pthread_cancel/pthread_exit. At each, the real
  // return addresses go back (the unwinder reads them). __cxa_begin_catch
  // runs in the frame that caught: the frames above it are alive again and
  // are hooked again; those below it are gone (uftrace does the same).
  struct Hook {
    const char* module;
    const char* fn;
    bool is_catch;
  };
  for (const Hook& hook : {Hook{"libgcc_s.so.1", "_Unwind_RaiseException", false},
                           Hook{"libgcc_s.so.1", "_Unwind_Resume", false},
                           Hook{"libgcc_s.so.1", "_Unwind_ForcedUnwind", false},
                           Hook{"libgcc_s.so.1", "_Unwind_Resume_or_Rethrow", false},
                           Hook{"libstdc++.so.6", "__cxa_begin_catch", true}}) {
    ProbeRecord rec;
    rec.id = s_.next_id_++;
    rec.probe.where.module = hook.module;
    rec.probe.where.symbol = hook.fn;
    rec.probe.allow_pending = true;
    rec.probe.destructive = true;
    rec.probe.name = std::string("return-probe unwind hook ") + hook.fn;
    if (hook.is_catch) {
      rec.probe.pre_handler = [this](HitContext& ctx) { on_catch(ctx); };
    } else {
      rec.probe.pre_handler = [this](HitContext& ctx) { on_unwind(ctx); };
    }
    ProbeId id = rec.id;
    ProbeRecord& stored = s_.probes_[id] = std::move(rec);
    for (const auto& as : s_.address_spaces()) (void)s_.place(stored, as, true);
  }
  return {};
}

std::vector<ProbeId> ReturnProbes::internal_ids(ProbeId owner) const {
  std::vector<ProbeId> out;
  auto it = plans_.find(owner);
  if (it == plans_.end()) return out;
  for (const auto& p : it->second) {
    if (p->entry_id) out.push_back(p->entry_id);
    if (p->exit_id) out.push_back(p->exit_id);
    if (p->landing_id) out.push_back(p->landing_id);
  }
  return out;
}

void ReturnProbes::forget(ProbeId owner) { plans_.erase(owner); }

std::vector<std::string> ReturnProbes::describe(ProbeId owner) const {
  std::vector<std::string> out;
  auto it = plans_.find(owner);
  if (it == plans_.end()) return out;
  for (const auto& p : it->second) {
    std::string name = p->func.symbol.empty() ? hex(p->func.address) : p->func.symbol;
    if (p->jump && !p->exit_sites.empty()) {
      std::vector<std::string> where, trapped;
      for (const auto& [a, index] : p->exit_sites) {
        const std::string off = offset_text(static_cast<int64_t>(a - p->func.address));
        where.push_back(off);
        // Demoted (another probe in its window needs the tracer): a trap
        // site at the ret runs the same code (SessionImpl::demote).
        const bool live = p->as && std::any_of(p->as->jump_sites().begin(), p->as->jump_sites().end(),
                                               [&](const auto& js) { return js.second->exit_ret == a && !js.second->gone; });
        if (!live) trapped.push_back(off);
      }
      const std::string form = p->agent ? p->agent->dprog_form_of_site(p->return_index) : "";
      const size_t n = p->exit_sites.size();
      out.push_back(name + ": jump, D clauses run in the agent at the return, at its " + std::to_string(n) +
                    (n == 1 ? " exit" : " exits") + " (" + join(where, ", ") + "; no hijack)" +
                    (trapped.empty() ? "" : "; a trap site at " + join(trapped, ", ") +
                                                ", where another probe needs the tracer") +
                    (form.empty() ? "" : "; " + form));
      continue;
    }
    if (p->jump) {
      const auto rec = s_.probes_.find(owner);
      const bool dcode = rec != s_.probes_.end() && rec->second.probe.agent_code;
      const std::string form = dcode && p->agent ? p->agent->dprog_form_of_site(p->return_index) : "";
      out.push_back(name + (dcode ? ": jump, D clauses run in the agent at the return"
                                  : ": jump, recorded in the agent at the return") +
                    " (the agent hijacks the return address" +
                    (p->hijack_why.empty() ? "" : "; not at the exits: " + p->hijack_why) + ")" +
                    (form.empty() ? "" : "; " + form));
      continue;
    }
    std::string not_jump = p->jump_refused.empty() ? "" : "; not a jump probe: " + p->jump_refused;
    if (p->mechanism == ReturnMechanism::hijack) {
      out.push_back(name + ": hijack (" + p->reason + ")" + not_jump);
      continue;
    }
    std::vector<std::string> where;
    for (const auto& [a, e] : p->exits) {
      std::string w = offset_text(static_cast<int64_t>(a - p->func.address));
      if (e.kind == x86::ExitSite::Kind::tail_call) w += " tail call";
      where.push_back(w);
    }
    size_t n = p->exits.size();
    out.push_back(name + ": ret-site, " + std::to_string(n) + (n == 1 ? " return" : " returns") +
                  (where.empty() ? "" : " (" + join(where, ", ") + ")") + not_jump);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Hits

void ReturnProbes::on_entry(HitContext& ctx, const std::shared_ptr<ReturnPlan>& plan) {
  Thread* t = s_.current_;
  ProbeRecord* rec = owner_record(plan->owner);
  if (!t || !rec || !rec->probe.enabled) return;
  // Another probe at this entry already overrode the call: the body will
  // not run, there is no return to wait for.
  if (ctx.regs().rip != plan->entry) return;
  if (rec->probe.pre_handler) {
    UserHitContext uc(ctx, rec->probe.destructive);
    PreHandler h = rec->probe.pre_handler;
    h(uc);
    if (ctx.regs().rip != plan->entry) return;
  }
  const bool hijack = plan->mechanism == ReturnMechanism::hijack;
  if (!hijack && !plan->tracks_entries) return;
  const uint64_t sp = ctx.regs().rsp;
  ThreadReturns& tr = threads_[t->tid];
  tr.tgid = t->tgid;
  auto& stack = hijack ? tr.hijacked : tr.entries;

  uint64_t orig = 0;
  bool chained = false;
  const uint64_t tramp = t->as->return_trampoline;
  if (hijack) {
    auto ret = ctx.read_value<uint64_t>(sp);
    if (!ret) return;
    orig = *ret;
    chained = tramp && orig == tramp;
  }
  // Frames at or below this one that never returned (longjmp, exceptions
  // under ret-site) are gone: drop them without handlers. A chained entry
  // (tail call into another hijacked function) reuses the frame at sp.
  while (!stack.empty() && (stack.back().sp < sp || (stack.back().sp == sp && !chained))) {
    if (ProbeRecord* o = owner_record(stack.back().plan->owner)) o->missed++;
    stack.pop_back();
  }
  if (chained) {
    if (stack.empty() || stack.back().sp != sp) return;  // not ours: leave it alone
    orig = stack.back().orig_ret;
  }
  size_t active = static_cast<size_t>(
      std::count_if(stack.begin(), stack.end(), [&](const ReturnInstance& i) { return i.plan->owner == plan->owner; }));
  if (active >= max_active(*rec)) {
    rec->missed++;
    return;
  }
  ReturnInstance inst;
  inst.sp = sp;
  inst.orig_ret = orig;
  inst.plan = plan;
  inst.chained = chained;
  inst.data.assign(rec->probe.data_size, 0);
  if (rec->probe.entry_handler) {
    UserHitContext uc(ctx, rec->probe.destructive);
    EntryHandler h = rec->probe.entry_handler;
    bool keep = h(uc, inst.data.empty() ? nullptr : inst.data.data());
    if (!keep || ctx.regs().rip != plan->entry) return;
  }
  if (hijack && !chained) {
    if (!tramp) return;
    if (!t->as->memory().write(sp, &tramp, sizeof tramp)) return;
  }
  // The handler may have run anything (even a nested add()): look up again.
  threads_[t->tid].tgid = t->tgid;
  (hijack ? threads_[t->tid].hijacked : threads_[t->tid].entries).push_back(std::move(inst));
}

void ReturnProbes::on_exit(HitContext& ctx, const std::shared_ptr<ReturnPlan>& plan) {
  Thread* t = s_.current_;
  ProbeRecord* rec = owner_record(plan->owner);
  if (!t || !rec || !rec->probe.enabled) return;
  const user_regs_struct& regs = ctx.regs();
  auto ex = plan->exits.find(regs.rip);
  if (ex == plan->exits.end()) return;
  const bool tail = ex->second.kind == x86::ExitSite::Kind::tail_call;
  if (tail) {
    // A conditional tail call returns only when taken.
    ProbeSite* site = t->as->site_at(regs.rip);
    if (site && site->analysis.emulation == x86::EmulationKind::jcc && !x86::condition_taken(site->insn, regs)) return;
  }
  const uint64_t sp = regs.rsp;
  std::optional<uint64_t> ret_addr;
  if (auto v = ctx.read_value<uint64_t>(sp)) {
    ret_addr = *v;
    // The frame may also be hijacked (another probe): report the real caller.
    const uint64_t tramp = t->as->return_trampoline;
    if (tramp && *v == tramp) {
      auto it = threads_.find(t->tid);
      if (it != threads_.end()) {
        for (auto i = it->second.hijacked.rbegin(); i != it->second.hijacked.rend(); ++i) {
          if (i->sp == sp) {
            ret_addr = i->orig_ret;
            break;
          }
        }
      }
    }
  }
  std::vector<uint8_t> data;
  if (plan->tracks_entries) {
    auto it = threads_.find(t->tid);
    if (it == threads_.end()) return;
    auto& stack = it->second.entries;
    drop_below(stack, sp, false);
    auto match = std::find_if(stack.rbegin(), stack.rend(), [&](const ReturnInstance& i) {
      return i.sp == sp && i.plan->owner == plan->owner;
    });
    // No entry: the call began before the probe was armed, was skipped by
    // its entry_handler, or missed (maxactive). Not reported.
    if (match == stack.rend() || match->sp != sp) return;
    data = std::move(match->data);
    stack.erase(std::next(match).base());
  }
  if (tail) {
    if (!ret_addr) {
      rec->missed++;
      return;
    }
    defer_to_landing(*t, plan, sp, *ret_addr, regs.rip, std::move(data));
    return;
  }
  rec->hits++;
  UserHitContext uc(ctx, rec->probe.destructive);
  uc.set_return(plan->func, ret_addr, regs.rip, tail);
  ReturnHandler h = rec->probe.return_handler;
  h(uc, data.empty() ? nullptr : data.data());
}

void ReturnProbes::drop_below(std::vector<ReturnInstance>& stack, uint64_t sp, bool inclusive) {
  while (!stack.empty() && (stack.back().sp < sp || (inclusive && stack.back().sp == sp))) {
    if (ProbeRecord* o = owner_record(stack.back().plan->owner)) o->missed++;
    stack.pop_back();
  }
}

void ReturnProbes::defer_to_landing(Thread& t, const std::shared_ptr<ReturnPlan>& plan,
                                    uint64_t sp, uint64_t ret_addr, uint64_t exit_site,
                                    std::vector<uint8_t> data) {
  ProbeRecord* rec = owner_record(plan->owner);
  if (!rec) return;
  ThreadReturns& tr = threads_[t.tid];
  tr.tgid = t.tgid;
  // Landings deeper than this frame were left without returning (longjmp,
  // an exception). Equal ones stay: a chain of tail calls (a jmp b jmp c)
  // reuses one frame, and every function in it returns when c does.
  drop_below(tr.landings, sp, false);
  size_t active = static_cast<size_t>(std::count_if(tr.landings.begin(), tr.landings.end(), [&](const auto& i) {
    return i.plan->owner == plan->owner;
  }));
  if (active >= max_active(*rec) || !plan->landing_id) {
    rec->missed++;
    return;
  }
  // The landing site: an ordinary site at the return address, shared by
  // every call that returns there (placed once, kept while the probe lives).
  auto as = t.as;
  ProbeSite* site = as->site_at(ret_addr);
  if (!site || site->gone) {
    Location l;
    l.address = ret_addr;
    auto rs = as->resolve(l);
    std::unique_ptr<ProbeSite> planned;
    if (rs && !rs->empty()) {
      auto p = s_.trap_.plan(*as, rs->front(), [this](AddressSpace& x, uint64_t near) { return s_.provide_slot(x, near); });
      if (p) planned = std::move(*p);
    }
    if (!planned) {
      // Not probeable (no module there, a denied instruction): hijack the
      // return address of this one call, as the hijack mechanism would.
      if (!hijack_tail_call(t, plan, sp, ret_addr, data)) rec->missed++;
      return;
    }
    site = planned.get();
    as->replace_site(std::move(planned));
  }
  // First on its site: when the return address is itself an exit of a
  // probed caller (`call f; ret`), the callee's return is reported first.
  auto& ids = site->probes;
  if (std::find(ids.begin(), ids.end(), plan->landing_id) == ids.end()) ids.insert(ids.begin(), plan->landing_id);
  if (!site->armed && !s_.trap_.arm(*as, *site)) {
    rec->missed++;
    return;
  }
  ReturnInstance inst;
  inst.sp = sp;
  inst.orig_ret = ret_addr;
  inst.plan = plan;
  inst.exit_site = exit_site;
  inst.data = std::move(data);
  threads_[t.tid].landings.push_back(std::move(inst));
}

bool ReturnProbes::hijack_tail_call(Thread& t, const std::shared_ptr<ReturnPlan>& plan, uint64_t sp,
                                    uint64_t ret_addr, std::vector<uint8_t>& data) {
  if (uses_shadow_stack(t.as->pid())) return false;
  auto tramp = trampoline(t.as);
  if (!tramp) return false;
  uint64_t current = 0;
  if (!t.as->memory().read_exact(sp, &current, sizeof current)) return false;
  // [sp] already the trampoline: another probe hijacked this frame, and its
  // instance (under ours) holds ret_addr; both fire at the one return.
  const bool chained = current == *tramp;
  if (!chained && !t.as->memory().write(sp, &*tramp, sizeof *tramp)) return false;
  ReturnInstance inst;
  inst.sp = sp;
  inst.orig_ret = ret_addr;
  inst.plan = plan;
  inst.chained = chained;
  inst.data = std::move(data);
  ThreadReturns& tr = threads_[t.tid];
  tr.tgid = t.tgid;
  drop_below(tr.hijacked, sp, false);
  tr.hijacked.push_back(std::move(inst));
  return true;
}

void ReturnProbes::on_landing(HitContext& ctx) {
  Thread* t = s_.current_;
  if (!t) return;
  auto it = threads_.find(t->tid);
  if (it == threads_.end()) return;
  auto& stack = it->second.landings;
  const uint64_t rip = ctx.regs().rip;
  // rsp after the callee's `ret` popped the return address.
  const uint64_t sp = ctx.regs().rsp - 8;
  drop_below(stack, sp, false);
  // Innermost first: in a chain a jmp b, b returns (to the caller) before a.
  std::vector<ReturnInstance> done;
  while (!stack.empty() && stack.back().sp == sp && stack.back().orig_ret == rip) {
    done.push_back(std::move(stack.back()));
    stack.pop_back();
  }
  for (auto& inst : done) {
    ProbeRecord* rec = owner_record(inst.plan->owner);
    if (!rec || !rec->probe.enabled) continue;
    rec->hits++;
    UserHitContext uc(ctx, rec->probe.destructive);
    uc.set_return(inst.plan->func, rip, inst.exit_site, true);
    ReturnHandler h = rec->probe.return_handler;
    h(uc, inst.data.empty() ? nullptr : inst.data.data());
  }
}

uint64_t ReturnProbes::fire_trampoline(Thread& t, HitContext* ctx, user_regs_struct& regs) {
  auto it = threads_.find(t.tid);
  if (it == threads_.end()) return 0;
  auto& stack = it->second.hijacked;
  // rsp after the `ret` that popped the trampoline address.
  const uint64_t sp = regs.rsp - 8;
  while (!stack.empty() && stack.back().sp < sp) {
    if (ProbeRecord* o = owner_record(stack.back().plan->owner)) o->missed++;
    stack.pop_back();
  }
  if (stack.empty() || stack.back().sp != sp) return 0;
  const uint64_t orig = stack.back().orig_ret;
  regs.rip = orig;
  // The top instance and the chained ones under it (tail calls) all return now.
  std::vector<ReturnInstance> done;
  while (!stack.empty() && stack.back().sp == sp) {
    bool chained = stack.back().chained;
    done.push_back(std::move(stack.back()));
    stack.pop_back();
    if (!chained) break;
  }
  for (auto& inst : done) {
    ProbeRecord* rec = owner_record(inst.plan->owner);
    if (!ctx || !rec || !rec->probe.enabled) continue;
    rec->hits++;
    UserHitContext uc(*ctx, rec->probe.destructive);
    uc.set_return(inst.plan->func, orig, std::nullopt, false);
    ReturnHandler h = rec->probe.return_handler;
    h(uc, inst.data.empty() ? nullptr : inst.data.data());
  }
  return orig;
}

bool ReturnProbes::on_trap(Thread& t, user_regs_struct& regs, bool hold) {
  const uint64_t tramp = t.as ? t.as->return_trampoline : 0;
  if (!tramp || regs.rip - 1 != tramp) return false;
  regs.rip = tramp;
  if (hold) {
    // Stopping the world: come back to the int3 later (or restore_all()
    // moves the thread to its real return address).
    (void)proc::set_regs(t.tid, regs);
    s_.resume(t, ResumeKind::cont, 0);
    return true;
  }
  Thread* saved = s_.current_;
  s_.current_ = &t;
  uint64_t orig = 0;
  if (s_.handlers_enabled(t)) {
    auto pit = s_.procs_.find(t.tgid);
    int ppid = pit != s_.procs_.end() ? pit->second.ppid : -1;
    // site() is replaced per instance by the function; this one is the trampoline's.
    SiteInfo tramp_info;
    tramp_info.address = tramp;
    HitContextImpl ctx(t, tramp_info, regs, clock_ns(), ppid);
    ctx.set_destructive(true);
    orig = fire_trampoline(t, &ctx, regs);
  } else {
    orig = fire_trampoline(t, nullptr, regs);
  }
  s_.current_ = saved;
  if (!orig) regs.rip = tramp + 1;  // lost instance: ud2 raises SIGILL here, visibly
  (void)proc::set_regs(t.tid, regs);
  s_.resume(t, ResumeKind::cont, 0);
  return true;
}

void ReturnProbes::on_unwind(HitContext& ctx) {
  Thread* t = s_.current_;
  if (!t || !t->as) return;
  auto it = threads_.find(t->tid);
  const uint64_t tramp = t->as->return_trampoline;
  if (it == threads_.end() || !tramp) return;
  // Every live frame may be unwound: give the unwinder the real addresses,
  // keep the instances until the catch says which frames survived.
  const uint64_t rsp = ctx.regs().rsp;
  const auto& mem = t->as->memory();
  for (auto& inst : it->second.hijacked) {
    if (inst.sp < rsp || inst.unhooked) continue;
    uint64_t v = 0;
    if (mem.read_exact(inst.sp, &v, sizeof v) && v == tramp) (void)mem.write(inst.sp, &inst.orig_ret, sizeof inst.orig_ret);
    inst.unhooked = true;
  }
}

void ReturnProbes::on_catch(HitContext& ctx) {
  Thread* t = s_.current_;
  if (!t || !t->as) return;
  auto it = threads_.find(t->tid);
  if (it == threads_.end()) return;
  // rsp: __cxa_begin_catch's return address, pushed by the catching frame.
  // Every frame whose return address lies at or below it was unwound.
  const uint64_t rsp = ctx.regs().rsp;
  ThreadReturns& tr = it->second;
  drop_below(tr.hijacked, rsp, true);
  drop_below(tr.landings, rsp, true);
  drop_below(tr.entries, rsp, true);
  const uint64_t tramp = t->as->return_trampoline;
  if (!tramp) return;
  const auto& mem = t->as->memory();
  for (auto& inst : tr.hijacked) {
    if (!inst.unhooked) continue;
    uint64_t v = 0;
    if (!mem.read_exact(inst.sp, &v, sizeof v)) continue;
    // The catching frame and its callers: still there, hook them again.
    if (v == inst.orig_ret) (void)mem.write(inst.sp, &tramp, sizeof tramp);
    if (v == inst.orig_ret || v == tramp) inst.unhooked = false;
  }
}

namespace {

// Writes the real return address back into every live hijacked frame
// (at or above rsp, still holding the trampoline).
void write_back(const std::vector<ReturnInstance>& stack, const proc::ProcessMemory& mem, uint64_t rsp,
                uint64_t tramp) {
  for (const auto& inst : stack) {
    if (inst.sp < rsp) continue;
    uint64_t v = 0;
    if (!mem.read_exact(inst.sp, &v, sizeof v) || v != tramp) continue;
    (void)mem.write(inst.sp, &inst.orig_ret, sizeof inst.orig_ret);
  }
}

}  // namespace

void ReturnProbes::on_fork(pid_t parent_tid, pid_t child, bool followed, bool vfork) {
  auto it = threads_.find(parent_tid);
  if (it == threads_.end()) return;
  if (followed || vfork) {
    ThreadReturns copy = it->second;
    copy.tgid = child;
    threads_[child] = std::move(copy);
    return;
  }
  // Not followed: the child runs untraced with our trampoline on its copied
  // stack. Put the real return addresses back through its own memory.
  auto pt = s_.threads_.find(parent_tid);
  if (pt == s_.threads_.end() || !pt->second.as) return;
  auto regs = proc::get_regs(parent_tid);
  auto mem = proc::ProcessMemory::open(child);
  if (!regs || !mem) return;
  write_back(it->second.hijacked, *mem, regs->rsp, pt->second.as->return_trampoline);
}

void ReturnProbes::on_exec(pid_t tgid) {
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->second.tgid == tgid) {
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
}

Status ReturnProbes::restore_all() {
  Status result;
  for (auto& [tid, t] : s_.threads_) {
    if (!t.stopped) continue;
    auto regs = proc::get_regs(tid);
    if (regs) restore_agent_frames(t, regs->rsp);
  }
  for (auto& [tid, tr] : threads_) {
    auto tt = s_.threads_.find(tid);
    if (tt == s_.threads_.end() || !tt->second.as) continue;
    Thread& t = tt->second;
    const uint64_t tramp = t.as->return_trampoline;
    if (!tramp || tr.hijacked.empty()) continue;
    auto regs = proc::get_regs(tid);
    if (!regs) continue;
    user_regs_struct r = *regs;
    if (r.rip == tramp) {
      // Parked at the trampoline while the world was held: finish the return.
      uint64_t orig = fire_trampoline(t, nullptr, r);
      if (orig) {
        auto st = proc::set_regs(tid, r);
        if (!st && result) result = st;
      }
    }
    write_back(tr.hijacked, t.as->memory(), r.rsp, tramp);
    tr.hijacked.clear();
  }
  threads_.clear();
  return result;
}

size_t ReturnProbes::armed_sites(ProbeId owner) const {
  auto ids = internal_ids(owner);
  size_t n = 0;
  for (const auto& as : s_.address_spaces()) {
    for (const auto& [addr, js] : as->jump_sites()) {
      if (!js->armed) continue;
      if (std::any_of(js->probes.begin(), js->probes.end(),
                      [&](ProbeId p) { return std::find(ids.begin(), ids.end(), p) != ids.end(); })) {
        n++;
      }
    }
    for (const auto& [addr, site] : as->sites()) {
      if (!site->armed) continue;
      if (std::any_of(site->probes.begin(), site->probes.end(),
                      [&](ProbeId p) { return std::find(ids.begin(), ids.end(), p) != ids.end(); })) {
        n++;
      }
    }
  }
  return n;
}

}  // namespace probekit::engine
