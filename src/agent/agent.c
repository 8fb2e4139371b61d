/* agent/agent.c — the code probekit injects into a traced process.
 *
 * Freestanding: no libc, no TLS, no allocation, no relocations other than
 * R_X86_64_RELATIVE, no imported symbol (tests/unit/agent checks the built
 * object). It is built -mgeneral-regs-only, so it never touches a vector
 * register: trampolines save only the general registers and flags, whatever
 * the probed site, and the program's xmm/ymm/zmm state (argument registers
 * at a function entry, live values mid-function) passes through untouched.
 *
 * The agent is entered only from trampolines, on the thread that hit the
 * site, with the stack 16-byte aligned and the direction flag clear. It must
 * never block, never fault on the program's behalf and never call anything
 * the program could have probed.
 */
#include "agent_abi.h"

#define PK_EXPORT __attribute__((visibility("default")))

/* The hit of a site whose only action is counting: one relaxed atomic add
 * (exact under any number of threads; no ordering is needed because
 * probekit only ever reads the total). */
PK_EXPORT void pk_agent_hit(struct pk_site_rt *site, struct pk_regs *regs) {
  (void)regs;
  __atomic_fetch_add(&site->hits, 1, __ATOMIC_RELAXED);
}

/* The ABI version this image was built for (probekit refuses a mismatch). */
PK_EXPORT const uint32_t pk_agent_abi_version = PK_AGENT_ABI_VERSION;
