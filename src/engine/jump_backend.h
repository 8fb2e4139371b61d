// engine/jump_backend.h — jump probes: `jmp rel32` to a trampoline that
// counts the hit in the agent's shared memory, runs the displaced
// instructions out of line and jumps back. A hit costs no ptrace stop.
//
// The one idea: what the kernel's optprobes do for the kernel, for a
// process. Eligibility is decided first and from the whole function
// (x86::plan_jump: no branch into the patched bytes, no jump table, no
// call or syscall displaced); anything refused stays a trap probe, with the
// reason kept for -v. The session calls arm() and disarm() only with every
// thread of the address space stopped, after moving any thread whose rip
// lies inside the displaced instructions into their copy, so no thread ever
// sees half a patch. Trampolines are never freed.
//
// A counting trampoline (generated with asmjit; the copy is byte-patched
// by x86::relocate_block):
//   lea rsp,[rsp-128]                 step over the red zone
//   push rax; push rcx; seto al; lahf keep the flags without pushfq
//   mov rcx,&site.hits; lock add qword [rcx],1
//   add al,0x7f; sahf; pop rcx; pop rax; lea rsp,[rsp+128]
//   <displaced instructions, relocated>; jmp back
// About 7 ns a hit here (bench/run.sh). No vector register is touched, so
// none is saved; no recursion guard is needed: an atomic add is correct
// when a signal handler's hit nests inside another.
//
// A record trampoline (Probe::capture) calls the agent:
//   lea rsp,[rsp-128]; pushfq; push rdi rsi rdx rcx rax r8-r11 rbx rbp r12-r15
//   cld (not at an entry or a ret: DF is clear there); mov rdi,rsp (the saves:
//   user_regs_struct's first 15 words, flags)
//   mov rsi,&site; mov rbx,rsp; and rsp,-16; mov rax,pk_agent_hit; call rax
//   mov rsp,rbx; pop ...; popfq; lea rsp,[rsp+128]; <displaced>; jmp back
// A return probe (engine/return_probes.h, "jump") uses the same head with
// another function: its entry site calls pk_agent_ret_entry, which pushes
// the real return address on the thread's shadow stack (agent_abi.h
// pk_shadow_area), and then the trampoline `call`s the relocated head in
// place of the caller's call, so the function returns to the trampoline's
// return point (predicted: see assemble_record), which jumps to the return
// trampoline (Agent::enable_returns): it saves the frame with rsp and rip
// as after the real return, fires the return site through the agent and
// `ret`s to the real address.
// The agent is built -mgeneral-regs-only: no vector state needs saving,
// at a function's entry or anywhere else. Its per-thread recursion guard
// (pk_thread.busy) drops a hit nested in another (a signal handler's).
#pragma once

#include <memory>

#include "engine/address_space.h"
#include "engine/agent.h"
#include "probekit/probekit.h"

namespace probekit::engine {

// A jump site whose trampoline calls one of the agent's functions with
// (frame, argument) instead of pk_agent_hit(frame, its own site): the
// entry of a return probe (pk_agent_ret_entry, argument the return site)
// and the unwinder's hooks. `then`: a second call after the first, on the
// same frame (a record site that is also a return probe's entry).
// `returns`: the function is a return probe's push (pk_agent_ret_entry):
// it is also given the trampoline's return point, and its nonzero result
// has the trampoline call the function (assemble_record). `joined`, for
// such a `then`: the one function that runs the site's clauses and the
// push (pk_agent_hit_ret), called instead of both where nothing overrides.
struct JumpCall {
  uint64_t function = 0;
  uint64_t argument = 0;
  bool returns = false;
  uint64_t joined = 0;
};

// Error injection at a record site (Probe::fail): PK_ACTION_OVERRIDE.
// (A D site whose code calls override(), Probe::agent_overrides, is
// planned with dcode_overrides instead: its trampoline returns the same way.)
struct JumpOverride {
  int64_t value = 0;
  uint32_t per_million = 1000000;
};

class JumpBackend {
public:
  // Checks eligibility and writes the trampoline (injecting the agent into
  // `as` on first use); nothing is patched. Errors (cannot_relocate) carry
  // the reason the site stays a trap probe.
  // With a program, a record site (the agent's records enabled first).
  Result<std::unique_ptr<JumpSite>> plan(AddressSpace& as, const ResolvedSite& r, const RemoteThread& remote,
                                         const std::vector<pk_read>* program = nullptr, uint32_t regs_mask = 0,
                                         const JumpCall* call = nullptr, const JumpCall* then = nullptr,
                                         const std::shared_ptr<const std::vector<uint8_t>>& dcode = nullptr,
                                         const std::vector<std::vector<Probe::GuardTerm>>& guard = {},
                                         const JumpOverride* override_return = nullptr,
                                         bool dcode_overrides = false);
  // A return probe's exit site (jump mode): the `ret` at r.address and the
  // whole instructions before it, at least 5 bytes (x86::plan_exit), are
  // replaced by a jmp to a trampoline that runs the copies of those
  // instructions, then the D code (a PK_ACTION_DPROG site at the `ret`,
  // its PK_DVAR_RETOFF ret_offset) with rsp as at the `ret`, then the
  // `ret` itself:
  //   <pop rbx; pop rbp, relocated>  lea rsp,[rsp-128]; pushfq; push ...
  //   call pk_agent_hit; pop ...; lea rsp,[rsp+136]; ret
  // The flags are dead at a `ret` (the ABI keeps none across a return), so
  // they are not restored, as at an entry. A thread stopped at the `ret`
  // moves to the probe (moved_rip), one in the copies to their copy.
  // `entry`: a D site at the function's entry whose window is this one (a
  // function of 5 to ~8 bytes: `lea rax,[rdi+rsi]; ret`): the new site
  // replaces it, its trampoline running the entry's head (guard, clauses,
  // override) first, on the entry's agent site. `exit_index`: the exit's
  // agent site already made (an exit site re-planned with an entry that
  // arrived after it); else one is added for dcode.
  Result<std::unique_ptr<JumpSite>> plan_exit(AddressSpace& as, const ResolvedSite& r, const RemoteThread& remote,
                                              const std::shared_ptr<const std::vector<uint8_t>>& dcode,
                                              int64_t ret_offset, const JumpSite* entry = nullptr,
                                              uint32_t exit_index = UINT32_MAX);
  // A probe's capture as the agent's program; an error says what the agent
  // cannot capture (the probe is then a trap probe).
  // The registers it keeps are pk_program::regs_mask (regs_mask_of()).
  static Result<std::vector<pk_read>> program_of(const Probe::Capture& capture);
  static uint32_t regs_mask_of(const Probe::Capture& capture);
  // Every thread of the address space must be stopped, none inside the
  // displaced bytes (see moved_rip()).
  Status arm(AddressSpace& as, JumpSite& site);
  Status disarm(AddressSpace& as, JumpSite& site);
  // Where a thread stopped at rip must continue once site is armed: the
  // copy of the displaced instruction at rip, or rip itself.
  static uint64_t moved_rip(const JumpSite& site, uint64_t rip);
};

}  // namespace probekit::engine
