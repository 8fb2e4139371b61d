/* agent/agent_abi.h — what probekit and its in-process agent share.
 *
 * The one idea: the agent and the tracer never call each other. They share
 * memory (two memfds per traced address space, mapped in both processes):
 *   code area  agent image + trampolines, r-x in the target, rw in probekit
 *   data area  pk_control + the site table, rw in both
 * A trampoline passes the agent a pointer to its site's pk_site_rt (in the
 * data area) and to the registers it saved (pk_regs). Everything the agent
 * does at a hit is a write into the data area; probekit reads it.
 *
 * This header is C (the agent is freestanding C) and C++ (the engine)
 * alike: fixed-width types only, no pointers stored across processes (the
 * two mappings have different addresses; offsets only).
 */
#ifndef PROBEKIT_AGENT_ABI_H
#define PROBEKIT_AGENT_ABI_H

#include <stdint.h>

#define PK_AGENT_MAGIC 0x70726f62656b6974ull /* "probekit" */
#define PK_AGENT_ABI_VERSION 1u

/* The registers a trampoline saves, in memory order from the stack pointer
 * it passes: it pushes flags first, then rax, rcx, rdx, rbx, rbp, rsi, rdi,
 * r8..r15, after stepping over the 128-byte red zone. The thread's rsp at
 * the site is (uint64_t)(regs + 1) + 128; its rip is the site's address. */
struct pk_regs {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
  uint64_t flags;
};

/* One jump-probed address. 64 bytes: sites never share a cache line, so a
 * hot site's counter does not slow its neighbours. */
struct pk_site_rt {
  uint64_t hits;      /* handler entries: the agent adds 1 at every hit */
  uint64_t address;   /* the probed address (for -v and sanity checks) */
  uint32_t action;    /* PK_ACTION_* */
  uint32_t reserved0;
  uint64_t reserved[5];
};

#define PK_ACTION_COUNT 1u /* count the hit; nothing else */

/* The head of the data area; the site table follows at sites_offset. */
struct pk_control {
  uint64_t magic;       /* PK_AGENT_MAGIC */
  uint32_t version;     /* PK_AGENT_ABI_VERSION */
  uint32_t nsites_max;  /* capacity of the site table */
  uint64_t sites_offset;
  uint64_t tracer_pid;  /* probekit's pid (for the agent's watchdog) */
  uint64_t reserved[4];
};

#endif
