// engine/return_probes.h — return probes (kretprobes / DTrace pid:::return),
// entry/return pairing and the return half of error injection.
//
// A user's return probe is never placed on a site itself. For every
// function it resolves to, ReturnProbes picks a mechanism and places
// *internal* probe records (ProbeRecord::owner = the user's id) on ordinary
// trap sites, so hits go through the one dispatch path every probe uses:
//
//   ret-site  one record on every `ret`/`ret imm16` and tail-call `jmp`
//             (jcc too, when taken) of the function and its `FUNC.cold`
//             parts, found by decoding the whole body (x86::find_exits);
//             plus an entry record only when the probe needs pairing
//             (entry_handler or data_size). Nothing on the stack changes.
//             A `ret` fires at once. A tail call does not: the value the
//             caller receives is computed by the function jumped to, so the
//             hit at the `jmp` records a *landing* (tid, sp, the return
//             address [sp]) and puts a landing record on the caller's
//             return address; the return fires there, after the callee's
//             own `ret`, when rsp == sp + 8 (DTrace fires at the jmp, with
//             no return value; kretprobes would rewrite the stack). Only a
//             return address that cannot take a site is hijacked instead,
//             for that one call.
//   hijack    one entry record that saves [rsp] in a per-thread instance
//             and writes the address of the trampoline (one int3 in an XOL
//             slot) there. The trampoline is not a site: on_trap() claims
//             its SIGTRAPs before the site table is consulted.
//
// The one idea for pairing: a call is identified by (tid, sp) where sp is
// rsp at the entry (the address of the return address). At a `ret` rsp is
// that sp again; at the trampoline it is sp + 8. Anything recorded deeper
// than the current sp is a frame that was left without returning (longjmp,
// an exception) and is dropped without calling its handler.
//
// Jump mode (`--backend` auto or jump, a probe that only formats what it
// captures: Probe::capture + return_handler, no entry handler, no data,
// not destructive, no maxactive, the mechanism not forced): hijack run by the agent, no ptrace stop at all. The
// entry is a jump site whose trampoline calls pk_agent_ret_entry: the real
// return address and sp go on the thread's shadow stack (a private mapping
// of the process, agent_abi.h pk_shadow_area; 64 frames a thread, deeper
// calls missed as kretprobes' maxactive) and the trampoline `call`s the
// function's relocated head in place of its caller's call, so [sp] holds
// the trampoline's return point (jump_backend.cpp assemble_record) and
// both `ret`s are predicted. The function's `ret` lands there and goes on
// to the agent's return trampoline: pk_agent_ret_exit
// pops the frames of that sp and fires the return site's record through
// pk_agent_hit with rax the return value and rsp/rip as after the real
// return, and the trampoline goes on to the real return address. A tail
// call therefore reports what the caller receives. Stale frames (longjmp)
// are dropped by sp at the thread's next push or pop; the agent hooks
// _Unwind_RaiseException & co. and __cxa_begin_catch itself (jump sites)
// and does there what on_unwind/on_catch do below; a fork child inherits
// its parent's frames with its memory; detach writes the real addresses
// back; if probekit dies, the trampoline and the stacks stay mapped and
// keep working. D return clauses first try the exits instead (arm_exit_sites):
// where every exit is a `ret` whose window (the ret and the instructions
// before it, at least 5 bytes, JumpBackend::plan_exit) can take a jmp,
// each exit is a jump site running the code at the ret, with no entry
// site and no hijack; any ineligible exit keeps the whole function on the
// hijack below. An entry record probe at the same entry
// shares the jmp (its trampoline calls pk_agent_hit_ret: the entry's
// clauses and the push with one lookup of the thread; pk_agent_hit, then
// pk_agent_ret_entry, where it overrides); any other probe there makes the return probe's
// entry a trap probe (entry_to_trap).
//
// C++ exceptions and hijack: the unwinder reads return addresses, and finds
// no unwind info for the trampoline. Internal probes on _Unwind_RaiseException
// (__cxa_throw and __cxa_rethrow call it), _Unwind_Resume,
// _Unwind_Resume_or_Rethrow and _Unwind_ForcedUnwind put every live hijacked
// return address of the throwing thread back before unwinding goes on, and
// keep the instances ("unhooked"). One on __cxa_begin_catch, which the
// catching frame calls, drops the instances of the frames that were unwound
// (at or below its rsp: counted as missed, their calls never returned) and
// writes the trampoline back into the frames above, which are alive and
// will return normally (uftrace re-hooks there too). An exception nobody
// catches with __cxa_begin_catch leaves unhooked instances, dropped as stale
// by the stack-pointer rule like those of longjmp.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/address_space.h"
#include "engine/agent.h"
#include "probekit/probekit.h"
#include "x86/x86.h"

namespace probekit::engine {

class SessionImpl;
struct ProbeRecord;
struct Thread;

// How one function of one return probe is armed.
struct ReturnPlan {
  ProbeId owner = 0;                    // the user's probe
  std::shared_ptr<AddressSpace> as;     // where it was planned (fork children share it)
  SiteInfo func;                        // the function (address = start, offset 0)
  uint64_t entry = 0;                   // entry site (start, or after endbr64)
  ReturnMechanism mechanism = ReturnMechanism::ret_site;
  std::map<uint64_t, x86::ExitSite> exits;  // ret-site: address -> exit
  std::string reason;                   // why hijack was chosen (for describe)
  bool tracks_entries = false;          // ret-site with entry_handler or data_size
  ProbeId entry_id = 0;                 // internal records
  ProbeId exit_id = 0;
  ProbeId landing_id = 0;               // ret-site with tail calls: at callers' return addresses
  // jump: the entry is a jump site calling the agent's pk_agent_ret_entry,
  // the return is the agent's record site return_index (below).
  bool jump = false;
  std::shared_ptr<Agent> agent;
  uint32_t return_index = 0;
  std::string jump_refused;             // why it stayed a trap probe (for describe)
  // jump at the exits (D code, every exit a `ret` that can take a jmp):
  // each exit is a jump site of its own whose trampoline runs the code at
  // the `ret` (JumpBackend::plan_exit); no entry site, no shadow stack.
  // (ret address, its agent site) per exit; exit_id is their probe.
  std::vector<std::pair<uint64_t, uint32_t>> exit_sites;
  std::string hijack_why;               // jump by hijack: why not at the exits (for describe)
};

// One call in flight: pushed at entry, popped at its return.
struct ReturnInstance {
  uint64_t sp = 0;        // rsp at entry: where the return address lives
  uint64_t orig_ret = 0;  // hijack: the real return address
  std::shared_ptr<ReturnPlan> plan;
  std::vector<uint8_t> data;  // Probe::data_size bytes
  bool chained = false;   // hijack: [sp] already held the trampoline (tail call)
  uint64_t exit_site = 0; // landing: the tail-call jmp the function left by
  bool unhooked = false;  // hijack: real address put back for an unwinder, until the catch
};

struct ThreadReturns {
  pid_t tgid = 0;
  std::vector<ReturnInstance> hijacked;  // bottom (outermost) first
  std::vector<ReturnInstance> entries;   // ret-site pairing, bottom first
  std::vector<ReturnInstance> landings;  // ret-site tail calls in flight, bottom first
};

class ReturnProbes {
public:
  explicit ReturnProbes(SessionImpl& s) : s_(s) {}

  static bool is_return_probe(const Probe& p) { return static_cast<bool>(p.return_handler); }
  // Checks a return probe before anything is placed (entry offset, handlers).
  Status validate(const Probe& p) const;
  // SessionImpl::place for a return probe: plans every function it names in
  // as (once per address space) and arms the internal records.
  Status place(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as, bool pending_ok);
  // The internal records of a user probe (enable/disable/remove follow it).
  std::vector<ProbeId> internal_ids(ProbeId owner) const;
  void forget(ProbeId owner);
  std::vector<std::string> describe(ProbeId owner) const;
  // True when the probe's functions are planned somewhere (for stats().sites).
  size_t armed_sites(ProbeId owner) const;

  // A record of a jump return probe's return site (agent.c
  // pk_agent_ret_exit): runs the probe's return_handler on it. False when
  // the record's site is not a return site.
  bool deliver(Agent& agent, const pk_record& rec, AddressSpace& as, const std::string& comm, int ppid,
               uint64_t ns);
  // A jump return probe whose every function is hijacked by the agent, or
  // one of the internal records of such probes (entry, unwinder hooks):
  // nothing of it needs the tracer (hands-off).
  bool agent_only(ProbeId id) const;
  // Records lost at a jump return probe's return sites (for stats().missed).
  uint64_t jump_missed(ProbeId owner) const;
  // Clauses the agent code of jump return probes abandoned (Session::agent_faults).
  uint64_t agent_faults() const;
  // A probe arrives at the entry jump site of a jump return probe: the
  // return probe's entry becomes a trap probe (frames already hijacked
  // still return through the agent). False when no return probe is there.
  Result<bool> entry_to_trap(const std::shared_ptr<AddressSpace>& as, uint64_t address);
  // A SIGTRAP at rip-1 == the trampoline of t's address space: handled.
  bool on_trap(Thread& t, user_regs_struct& regs, bool hold);
  void on_thread_exit(pid_t tid) { threads_.erase(tid); }
  // A fork/vfork event of parent: the child's copied stack holds the
  // trampoline wherever parent's does. Followed: copy the instances. Not
  // followed (fork only): write the real return addresses into the child.
  void on_fork(pid_t parent_tid, pid_t child, bool followed, bool vfork);
  void on_exec(pid_t tgid);
  // Detach: every live hijacked return address back, threads parked at the
  // trampoline moved to their real return address. The world is held.
  Status restore_all();

private:
  // Jump mode (see the note at the top): the probe is recordable and the
  // session may place jump probes.
  bool wants_jump(const ProbeRecord& rec) const;
  Status arm_jump_plan(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as,
                       const std::shared_ptr<ReturnPlan>& plan);
  // Jump at the exits (see ReturnPlan::exit_sites): every exit planned
  // before any is armed; an error (the exit that cannot take a jmp, and
  // why) leaves nothing behind and the caller hijacks instead.
  Status arm_exit_sites(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as,
                        const std::shared_ptr<ReturnPlan>& plan);
  // The unwinder's and __cxa_begin_catch's hooks in the agent (jump sites),
  // in every address space with jump return probes, as their libraries are
  // mapped (place() runs at each loader event); an error when one cannot
  // be placed.
  Status ensure_agent_hooks(const std::shared_ptr<AddressSpace>& as, const RemoteThread& remote);
  // Detach: every live frame hijacked by the agent gets its real return
  // address back (the world is held).
  void restore_agent_frames(Thread& t, uint64_t rsp);
  // Finds t's shadow stack (by fs base) in its agent's area, lets edit
  // change it (each frame's return point is pk_shadow_frame::rp) and
  // writes it back.
  bool edit_agent_stack(Thread& t, uint64_t fs_base, const std::function<void(pk_shadow_stack&)>& edit);
  void on_agent_unwind(HitContext& ctx);  // the agent's hooks as trap sites (see the .cpp)
  void on_agent_catch(HitContext& ctx);
  Result<std::shared_ptr<ReturnPlan>> plan_function(const ProbeRecord& rec, AddressSpace& as,
                                                    const ResolvedSite& r);
  Status arm_plan(ProbeRecord& rec, const std::shared_ptr<AddressSpace>& as,
                  const std::shared_ptr<ReturnPlan>& plan);
  Status place_internal(ProbeId id, const std::shared_ptr<AddressSpace>& as, uint64_t address);
  Result<uint64_t> trampoline(const std::shared_ptr<AddressSpace>& as);
  Status ensure_exception_hooks();
  ProbeRecord& new_internal(ProbeId owner, bool enabled, const std::string& name);

  void on_entry(HitContext& ctx, const std::shared_ptr<ReturnPlan>& plan);
  void on_exit(HitContext& ctx, const std::shared_ptr<ReturnPlan>& plan);
  // A tail-call exit: wait for the return at the caller's return address.
  void defer_to_landing(Thread& t, const std::shared_ptr<ReturnPlan>& plan, uint64_t sp,
                        uint64_t ret_addr, uint64_t exit_site, std::vector<uint8_t> data);
  void on_landing(HitContext& ctx);
  // A tail call whose return address cannot hold a landing site: the
  // trampoline goes into [sp] for this call only. False when it cannot.
  bool hijack_tail_call(Thread& t, const std::shared_ptr<ReturnPlan>& plan, uint64_t sp, uint64_t ret_addr,
                        std::vector<uint8_t>& data);
  // Drops t's instances (of every kind) whose frames are below sp: they were
  // left without returning. Counted as missed.
  void drop_below(std::vector<ReturnInstance>& stack, uint64_t sp, bool inclusive);
  void on_unwind(HitContext& ctx);  // unwinding starts or resumes: real return addresses back
  void on_catch(HitContext& ctx);   // __cxa_begin_catch: drop unwound frames, hook the rest again
  // Pops the instances matching a trampoline hit; returns the real return
  // address (0 when none matches). Runs handlers unless quiet.
  uint64_t fire_trampoline(Thread& t, HitContext* ctx, user_regs_struct& regs);
  ProbeRecord* owner_record(ProbeId id);
  size_t max_active(const ProbeRecord& rec) const;

  SessionImpl& s_;
  std::map<ProbeId, std::vector<std::shared_ptr<ReturnPlan>>> plans_;  // by owner
  std::unordered_map<pid_t, ThreadReturns> threads_;
  bool hooks_added_ = false;
  ProbeId agent_hooks_id_ = 0;  // the internal record of the agent's unwinder hooks
  ProbeId agent_unwind_trap_id_ = 0, agent_catch_trap_id_ = 0;  // the same hooks as trap sites
  std::map<const AddressSpace*, std::set<std::string>> agent_hooked_;  // hooks placed, by address space
  // Jump return sites: (agent, site index) -> the plan whose return it is.
  std::map<std::pair<const Agent*, uint32_t>, std::shared_ptr<ReturnPlan>> return_sites_;
};

}  // namespace probekit::engine
