// engine/backend.h — the seam between the engine and the way a site is
// armed and a hit is executed.
//
// The Session owns threads, processes, the wait loop and the probe table;
// it runs handlers (HandlerRunner). A Backend owns what happens *at* a site:
// planning (checks and out-of-line code, nothing written), arming and
// disarming, and for the trap backend, what a thread does after the
// handlers ran (emulate, run the XOL copy, single-step it). A later `jump`
// backend (5-byte jmp into an in-process trampoline writing a ring buffer)
// plugs in here: it plans and arms differently and reports hits from the
// ring buffer instead of ptrace stops, while the Session keeps the rest.
#pragma once

#include <sys/user.h>

#include <functional>
#include <memory>

#include "engine/address_space.h"
#include "util/result.h"

namespace probekit::engine {

struct Thread;

// How the session runs handlers for a hit; implemented by the Session.
class HandlerRunner {
public:
  virtual ~HandlerRunner() = default;
  // Runs the pre_handlers of the enabled probes at site. regs may be changed
  // by destructive probes; returns true when they were.
  virtual bool run_pre(Thread& t, ProbeSite& site, user_regs_struct& regs) = 0;
  virtual void run_post(Thread& t, ProbeSite& site, user_regs_struct& regs) = 0;
  virtual void run_fault(Thread& t, ProbeSite& site, user_regs_struct& regs, int signo) = 0;
  virtual bool has_post(const ProbeSite& site) const = 0;
  // The dynamic loader's breakpoint fired: rescan modules, arm pending probes.
  virtual void on_loader_event(Thread& t) = 0;
  // Whether handlers run for this thread's process (false for an unfollowed
  // vfork child that shares our memory until it execs).
  virtual bool handlers_enabled(const Thread& t) const = 0;
};

// A source of XOL slots within rel32 reach of an address (maps a new area in
// the target when needed).
using SlotProvider = std::function<Result<uint64_t>(AddressSpace&, uint64_t near)>;

class Backend {
public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Decodes and checks the instruction at r.address (original bytes), plans
  // its execution and prepares out-of-line code. Writes nothing to the target
  // except possibly a fresh XOL area.
  virtual Result<std::unique_ptr<ProbeSite>> plan(AddressSpace& as, const ResolvedSite& r,
                                                  const SlotProvider& slots) = 0;
  virtual Status arm(AddressSpace& as, ProbeSite& site) = 0;
  virtual Status disarm(AddressSpace& as, ProbeSite& site) = 0;
};

}  // namespace probekit::engine
