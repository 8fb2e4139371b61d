// engine/jump_backend.h — jump probes: `jmp rel32` to a trampoline that
// calls the in-process agent (engine/agent.h), then runs the displaced
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
// The trampoline (generated with asmjit; the copy is byte-patched by
// x86::relocate_block):
//   lea rsp,[rsp-128]        step over the red zone
//   pushfq; push rax..r15    struct pk_regs (agent/agent_abi.h)
//   cld                      the agent is C: DF=0
//   mov rbx,rsp; and rsp,-16 the ABI's alignment; rbx survives the call
//   mov rdi,SITE; mov rsi,rbx; mov rax,pk_agent_hit; call rax
//   mov rsp,rbx; pop r15..rax; popfq; lea rsp,[rsp+128]
//   <displaced instructions, relocated>; jmp back
// No vector register is saved: the agent is built -mgeneral-regs-only and
// never touches one, so the program's xmm/ymm/zmm state passes through. No
// recursion guard either: a count is an atomic add, correct when a signal
// handler's hit nests inside another.
#pragma once

#include <memory>

#include "engine/address_space.h"
#include "engine/agent.h"

namespace probekit::engine {

class JumpBackend {
public:
  // Checks eligibility and writes the trampoline (injecting the agent into
  // `as` on first use); nothing is patched. Errors (cannot_relocate) carry
  // the reason the site stays a trap probe.
  Result<std::unique_ptr<JumpSite>> plan(AddressSpace& as, const ResolvedSite& r, const RemoteThread& remote);
  // Every thread of the address space must be stopped, none inside the
  // displaced bytes (see moved_rip()).
  Status arm(AddressSpace& as, JumpSite& site);
  Status disarm(AddressSpace& as, JumpSite& site);
  // Where a thread stopped at rip must continue once site is armed: the
  // copy of the displaced instruction at rip, or rip itself.
  static uint64_t moved_rip(const JumpSite& site, uint64_t rip);
};

}  // namespace probekit::engine
