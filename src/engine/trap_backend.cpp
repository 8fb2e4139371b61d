#include "engine/trap_backend.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "engine/agent.h"
#include "proc/ptrace.h"
#include "util/strings.h"

namespace probekit::engine {

namespace {

constexpr uint8_t kInt3 = 0xcc;

bool is_fault_signal(int signo) {
  return signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL;
}

// A fault the instruction itself raised (not one sent with kill/tgkill/sigqueue).
bool is_synchronous_fault(pid_t tid, int signo) {
  if (!is_fault_signal(signo)) return false;
  auto si = proc::get_siginfo(tid);
  return si && si->si_code > 0 && si->si_code != SI_KERNEL;
}

}  // namespace

Result<std::unique_ptr<ProbeSite>> TrapBackend::plan(AddressSpace& as, const ResolvedSite& r,
                                                     const SlotProvider& slots) {
  if (before_plan) PK_TRY(before_plan(as, r.address));
  auto site = std::make_unique<ProbeSite>();
  site->address = r.address;
  site->info = r.info;
  // Original bytes (through our own patches); an instruction may be cut
  // short by the end of the mapping.
  uint8_t bytes[15] = {};
  size_t have = 15;
  for (; have > 0; --have) {
    if (as.read_original(r.address, bytes, have)) break;
  }
  if (have == 0) {
    return Error("cannot read the instruction at " + hex(r.address), ErrorKind::bad_address);
  }
  if (r.func_start && r.address != r.func_start) {
    uint64_t len = r.func_size ? r.func_size : (r.address - r.func_start) + 15;
    std::vector<uint8_t> func(len);
    if (!as.read_original(r.func_start, func.data(), len)) {
      func.resize(r.address - r.func_start + have);
      PK_TRY(as.read_original(r.func_start, func.data(), func.size()));
    }
    auto b = x86::check_boundary(func, r.func_start, r.address);
    if (!b) {
      Error e = b.error();
      return e.context("'" + r.info.symbol + "+" + hex(r.address - r.func_start) + "'");
    }
  }
  auto insn = x86::decode(bytes, have, r.address);
  if (!insn) return insn.error();
  site->insn = *insn;
  site->original_byte = bytes[0];
  auto analysis = x86::analyze(site->insn);
  if (!analysis) {
    Error e = analysis.error();
    std::string where = r.info.symbol.empty() ? hex(r.address)
                                              : r.info.symbol + (r.info.offset ? "+" + hex(r.info.offset) : "");
    return e.context("cannot probe '" + where + "'");
  }
  site->analysis = *analysis;
  bool needs_copy = site->analysis.plan != x86::Plan::emulate;
  if (needs_copy && !naive_) {
    auto slot = slots(as, r.address);
    if (!slot) return slot.error();
    auto code = x86::relocate(site->insn, *slot);
    if (!code) return code.error();
    if (code->code.size() > AddressSpace::kSlotSize) {
      return Error("out-of-line copy of '" + site->insn.text() + "' does not fit a slot", ErrorKind::internal);
    }
    site->slot = *slot;
    site->xol = std::move(*code);
    PK_TRY(as.memory().write(site->slot, site->xol.code.data(), site->xol.code.size()));
    as.register_slot(site->slot, site.get());
  }
  return site;
}

Status TrapBackend::arm(AddressSpace& as, ProbeSite& site) {
  if (site.armed || site.gone) return {};
  if (as.agent) as.agent->arming(site.address, &site.original_byte, 1, 0);  // the orphan guard
  PK_TRY(as.memory().write(site.address, &kInt3, 1));
  site.armed = true;
  return {};
}

Status TrapBackend::disarm(AddressSpace& as, ProbeSite& site) {
  if (!site.armed || site.gone) {
    site.armed = false;
    return {};
  }
  PK_TRY(as.memory().write(site.address, &site.original_byte, 1));
  site.armed = false;
  if (as.agent) as.agent->disarmed(site.address);
  return {};
}

void TrapBackend::on_breakpoint(Thread& t, ProbeSite& site, user_regs_struct& regs, bool hold) {
  regs.rip = site.address;
  if (hold) {
    // Stopping the world: undo the trap; the thread hits it again (or runs
    // the original instruction if the site is removed meanwhile) later.
    (void)proc::set_regs(t.tid, regs);
    control_.resume(t, ResumeKind::cont, 0);
    return;
  }
  if (site.internal) runner_.on_loader_event(t);
  if (runner_.handlers_enabled(t) && runner_.run_pre(t, site, regs)) {
    if (regs.rip != site.address) {
      // A destructive handler moved rip: skip the instruction (kprobes rule).
      (void)proc::set_regs(t.tid, regs);
      control_.resume(t, ResumeKind::cont, 0);
      return;
    }
  }
  execute(t, site, regs);
}

void TrapBackend::execute(Thread& t, ProbeSite& site, user_regs_struct& regs) {
  AddressSpace& as = *t.as;
  if (naive_) {
    // The baseline the benchmarks compare against: original byte back,
    // single-step in place, int3 again (every plan, emulated ones included).
    (void)as.memory().write(site.address, &site.original_byte, 1);
    (void)proc::set_regs(t.tid, regs);
    t.mode = ThreadMode::naive_step;
    t.step_site = &site;
    control_.resume(t, ResumeKind::step, 0);
    return;
  }
  bool post = runner_.handlers_enabled(t) && runner_.has_post(site);
  switch (site.analysis.plan) {
    case x86::Plan::emulate: {
      x86::StackAccess stack;
      const auto& mem = as.memory();
      stack.read_u64 = [&mem](uint64_t addr) -> Result<uint64_t> {
        uint64_t v = 0;
        PK_TRY(mem.read_exact(addr, &v, sizeof v));
        return v;
      };
      stack.write_u64 = [&mem](uint64_t addr, uint64_t v) -> Status { return mem.write(addr, &v, sizeof v); };
      auto st = x86::emulate(site.insn, site.analysis.emulation, regs, stack);
      if (!st) {
        // The stack cannot take the push (or a ret reads garbage): deliver the
        // fault the instruction would have raised, at the site.
        (void)proc::set_regs(t.tid, regs);
        control_.resume(t, ResumeKind::cont, SIGSEGV);
        return;
      }
      if (post) runner_.run_post(t, site, regs);
      (void)proc::set_regs(t.tid, regs);
      control_.resume(t, ResumeKind::cont, 0);
      return;
    }
    case x86::Plan::boost:
      if (!post && !site.xol.single_step) {
        regs.rip = site.slot;
        (void)proc::set_regs(t.tid, regs);
        control_.resume(t, ResumeKind::cont, 0);
        return;
      }
      start_step(t, site, regs);
      return;
    case x86::Plan::step:
      start_step(t, site, regs);
      return;
  }
}

void TrapBackend::start_step(Thread& t, ProbeSite& site, user_regs_struct& regs) {
  if (site.xol.scratch_reg >= 0) {
    t.saved_scratch = x86::reg_at(regs, site.xol.scratch_reg);
    x86::reg_at(regs, site.xol.scratch_reg) = site.xol.scratch_value;
  }
  regs.rip = site.slot;
  (void)proc::set_regs(t.tid, regs);
  t.mode = ThreadMode::xol_step;
  t.step_site = &site;
  control_.resume(t, ResumeKind::step, 0);
}

void TrapBackend::on_step_trap(Thread& t) {
  auto r = proc::get_regs(t.tid);
  if (!r) {
    t.mode = ThreadMode::normal;
    control_.resume(t, ResumeKind::cont, 0);
    return;
  }
  user_regs_struct regs = *r;
  ProbeSite* site = t.step_site;
  switch (t.mode) {
    case ThreadMode::naive_step: {
      // (No "not executed yet" check: rip == site is legitimate after a
      // branch to itself. Other stops before the step arrive as other kinds.)
      if (!site->gone && site->armed) (void)t.as->memory().write(site->address, &kInt3, 1);
      t.mode = ThreadMode::normal;
      if (runner_.handlers_enabled(t) && runner_.has_post(*site)) {
        runner_.run_post(t, *site, regs);
        (void)proc::set_regs(t.tid, regs);
      }
      resume_with_held(t);
      return;
    }
    case ThreadMode::xol_step: {
      if (regs.rip == site->slot) {  // not executed yet (an interrupt came first)
        control_.resume(t, ResumeKind::step, 0);
        return;
      }
      const uint64_t len = site->insn.length;
      if (site->xol.single_step) {
        if (site->xol.fix_ip) regs.rip += site->address - site->slot;
        if (site->xol.fix_call) {
          uint64_t ret = site->address + len;
          (void)t.as->memory().write(regs.rsp, &ret, sizeof ret);
        }
        if (site->xol.scratch_reg >= 0) x86::reg_at(regs, site->xol.scratch_reg) = t.saved_scratch;
      } else {
        // A boosted copy stepped for a post_handler: a non-branch, so rip is
        // just past the copy.
        regs.rip = site->address + (regs.rip - site->slot);
      }
      t.mode = ThreadMode::normal;
      if (runner_.handlers_enabled(t) && runner_.has_post(*site)) runner_.run_post(t, *site, regs);
      (void)proc::set_regs(t.tid, regs);
      resume_with_held(t);
      return;
    }
    case ThreadMode::leave_slot: {
      if (t.as->in_xol(regs.rip) && ++t.leave_steps < 16) {
        control_.resume(t, ResumeKind::step, 0);
        return;
      }
      t.mode = ThreadMode::normal;
      resume_with_held(t);
      return;
    }
    case ThreadMode::normal:
      control_.resume(t, ResumeKind::cont, 0);
      return;
  }
}

void TrapBackend::on_signal(Thread& t, int signo) {
  auto r = proc::get_regs(t.tid);
  if (!r) {
    control_.resume(t, ResumeKind::cont, signo);
    return;
  }
  user_regs_struct regs = *r;
  if (t.mode == ThreadMode::xol_step || t.mode == ThreadMode::naive_step) {
    ProbeSite* site = t.step_site;
    uint64_t at = t.mode == ThreadMode::xol_step ? site->slot : site->address;
    if (regs.rip == at && is_synchronous_fault(t.tid, signo)) {
      // The copied instruction faulted: report it at the original address
      // with the program's registers (uprobes' abort_xol).
      if (t.mode == ThreadMode::naive_step && !site->gone && site->armed) {
        (void)t.as->memory().write(site->address, &kInt3, 1);
      }
      regs.rip = site->address;
      if (t.mode == ThreadMode::xol_step && site->xol.scratch_reg >= 0) {
        x86::reg_at(regs, site->xol.scratch_reg) = t.saved_scratch;
      }
      t.mode = ThreadMode::normal;
      if (runner_.handlers_enabled(t)) runner_.run_fault(t, *site, regs, signo);
      (void)proc::set_regs(t.tid, regs);
      control_.resume(t, ResumeKind::cont, signo);
      return;
    }
    // Any other signal waits until the copy is done.
    t.held.push_back(signo);
    control_.resume(t, ResumeKind::step, 0);
    return;
  }
  if (t.mode == ThreadMode::leave_slot) {
    t.held.push_back(signo);
    control_.resume(t, ResumeKind::step, 0);
    return;
  }
  if (t.as && t.as->in_xol(regs.rip)) {
    ProbeSite* site = t.as->site_for_slot_address(regs.rip);
    if (site && regs.rip == site->slot && is_synchronous_fault(t.tid, signo)) {
      regs.rip = site->address;
      if (runner_.handlers_enabled(t)) runner_.run_fault(t, *site, regs, signo);
      (void)proc::set_regs(t.tid, regs);
      control_.resume(t, ResumeKind::cont, signo);
      return;
    }
    // Asynchronous signal while running a boosted copy: finish the copy
    // first so the handler's frame holds an original-code rip.
    t.held.push_back(signo);
    t.mode = ThreadMode::leave_slot;
    t.leave_steps = 0;
    control_.resume(t, ResumeKind::step, 0);
    return;
  }
  control_.resume(t, ResumeKind::cont, signo);
}

void TrapBackend::resume_with_held(Thread& t) {
  int first = 0;
  if (!t.held.empty()) {
    first = t.held.front();
    // More than one held signal: re-queue the rest (one can ride on the resume).
    for (size_t i = 1; i < t.held.size(); ++i) ::syscall(SYS_tgkill, t.tgid, t.tid, t.held[i]);
    t.held.clear();
  }
  control_.resume(t, ResumeKind::cont, first);
}

Status TrapBackend::leave_slot_now(Thread& t) {
  for (int i = 0; i < 16; ++i) {
    auto r = proc::get_regs(t.tid);
    if (!r) return r.error();
    if (!t.as || !t.as->in_xol(r->rip)) return {};
    PK_TRY(proc::single_step(t.tid));
    auto st = proc::wait_thread(t.tid);
    if (!st) return st.error();
    if (st->kind == proc::StopKind::exited || st->kind == proc::StopKind::killed) {
      return Error("thread exited", ErrorKind::target_exited);
    }
    if (st->kind == proc::StopKind::signal && st->signo != SIGTRAP) t.held.push_back(st->signo);
  }
  return Error("thread " + std::to_string(t.tid) + " did not leave the XOL area", ErrorKind::internal);
}

}  // namespace probekit::engine
