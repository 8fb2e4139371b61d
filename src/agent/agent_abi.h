/* agent/agent_abi.h — what probekit and its in-process agent share.
 *
 * The one idea: the agent and the tracer never call each other. They share
 * memory (two memfds per traced address space, mapped in both processes):
 *   code area  agent image + trampolines, r-x in the target, rw in probekit
 *   data area  pk_control + the site table, rw in both
 * A counting trampoline adds to its site's pk_site_rt (in the data area);
 * the agent's orphan guard reads the patch table. probekit reads the
 * counters and writes the tables.
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

/* One jump-probed address. 64 bytes: sites never share a cache line, so a
 * hot site's counter does not slow its neighbours. */
struct pk_site_rt {
  uint64_t hits;      /* the trampoline adds 1 at every hit (lock add) */
  uint64_t address;   /* the probed address (for -v and sanity checks) */
  uint32_t action;    /* PK_ACTION_* */
  uint32_t reserved0;
  uint64_t reserved[5];
};

#define PK_ACTION_COUNT 1u /* count the hit; nothing else */

/* A patch probekit wrote into the program's code (an int3 or a jmp), as
 * the agent must undo it if probekit disappears. probekit fills an entry
 * before it writes the patch and marks it disarmed after removing it. */
struct pk_patch {
  uint64_t address;
  uint64_t resume;      /* jmp: where a thread trapping at address goes while
                           the jmp is being taken out (the relocated copy) */
  uint8_t original[8];  /* the bytes the patch replaced */
  uint32_t length;      /* 1 (int3) or 5 (jmp); 0: unused entry */
  uint32_t armed;       /* the patch is in the program's code */
};

/* The kernel's struct sigaction for rt_sigaction(2) on x86-64. */
struct pk_kernel_sigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

/* The head of the data area; the site table follows at sites_offset, the
 * patch table at patches_offset. */
struct pk_control {
  uint64_t magic;       /* PK_AGENT_MAGIC */
  uint32_t version;     /* PK_AGENT_ABI_VERSION */
  uint32_t nsites_max;  /* capacity of the site table */
  uint64_t sites_offset;
  uint64_t tracer_pid;  /* probekit's pid */
  uint64_t patches_offset;
  uint32_t npatches_max;
  uint32_t npatches;    /* entries in use (high-water mark) */
  /* The orphan guard (agent.c): the program's SIGTRAP action before the
   * agent's, and the read end of a pipe whose only writer is probekit: when
   * probekit dies, the kernel sends SIGTRAP (F_SETSIG) with si_fd =
   * death_fd, and a read of it returns end of file. */
  struct pk_kernel_sigaction previous;
  int32_t death_fd;
  uint32_t restoring;   /* 0, 1 while a thread restores, 2 when restored */
  uint64_t reserved[4];
};

#endif
