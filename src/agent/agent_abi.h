/* agent/agent_abi.h — what probekit and its in-process agent share.
 *
 * The one idea: the agent and the tracer never call each other. They share
 * memory (two memfds per traced address space, mapped in both processes):
 *   code area  agent image + trampolines, r-x in the target, rw in probekit
 *   data area  pk_control + the site table + the patch table + capture
 *              programs, rw in both
 *   rings      (records only) the thread table and one ring per thread
 * A counting trampoline adds to its site's pk_site_rt (in the data area);
 * the agent's orphan guard reads the patch table. probekit reads the
 * counters and writes the tables.
 *
 * This header is C (the agent is freestanding C) and C++ (the engine)
 * alike: fixed-width types only. The two processes map each area at
 * different addresses: what both use is an offset; an address is stored
 * only for the agent's own use (in the target's terms).
 */
#ifndef PROBEKIT_AGENT_ABI_H
#define PROBEKIT_AGENT_ABI_H

#include <stdint.h>

#define PK_AGENT_MAGIC 0x70726f62656b6974ull /* "probekit" */
#define PK_AGENT_ABI_VERSION 3u

/* One jump-probed address. 64 bytes: sites never share a cache line, so a
 * hot site's counter does not slow its neighbours. */
struct pk_site_rt {
  uint64_t hits;      /* COUNT: 1 more at every hit (lock add); RECORD: hits that wrote no
                         record (probekit counts the records it drains) */
  uint64_t address;   /* the probed address (for -v and sanity checks) */
  uint32_t action;    /* PK_ACTION_* */
  uint32_t program;   /* RECORD: offset of the site's pk_program in the data area */
  uint64_t dropped;   /* RECORD: hits whose record was lost (buffer full, no thread slot) */
  uint64_t nested;    /* RECORD: hits inside a hit of the same thread (a signal handler's): no record */
  uint64_t return_site; /* nonzero: a return probe's site (pk_shadow below): a hit's rip is the real
                           return address its return trampoline passes, not `address` */
  union {
    int64_t ret_offset;     /* DPROG at a return site: the returning instruction's offset in its function
                               (PK_DVAR_RETOFF, D's arg0 there), known when the function has one exit */
    int64_t override_value; /* OVERRIDE: what an overridden call returns (rax) */
  };
  uint32_t override_per_million; /* OVERRIDE: the calls overridden, per million (1000000: every one) */
  uint32_t pad3;
};

#define PK_ACTION_COUNT 1u  /* count the hit; nothing else (no call into the agent) */
#define PK_ACTION_RECORD 2u /* count it, and pk_agent_hit writes a record */
#define PK_ACTION_DPROG 3u  /* pk_agent_hit runs the site's D clauses (dvm.h): program is a pk_dprog */
/* Error injection (the kernel's fail_function) at a function's entry: in
 * override_per_million of the calls (sampled with the thread's PRNG,
 * pk_thread.rng) pk_agent_hit sets the frame's rax to override_value,
 * writes a record as a RECORD site does (program) and returns nonzero: the
 * trampoline restores the registers and executes `ret`, so the caller sees
 * the value and the body never runs. Other calls: counted in hits only. */
#define PK_ACTION_OVERRIDE 4u

/* ---- Records (PK_ACTION_RECORD) ----
 * A record site's trampoline saves every general register and calls
 * pk_agent_hit, which runs the site's capture program and appends one
 * pk_record to the hitting thread's ring. probekit drains the rings and
 * runs the probe's handler on each record, in the tracer, as if the thread
 * had stopped there (engine/record_context.h). */

#define PK_MAX_DEREFS 8
#define PK_STRING_MAX 4096 /* bytes of a captured string, NUL included (the kernel's MAX_STRING_SIZE) */

/* One value the handler will read: a base (a register of the hit, or an
 * immediate), dereferenced nderefs times: every dereference but the last
 * reads 8 bytes at v + derefs[i]; the last reads `size` bytes, or with
 * `string` a NUL-terminated string (at v itself when nderefs is 0). Each
 * memory access becomes one pk_item of the record, faulted or not. */
struct pk_read {
  int32_t reg; /* word index in struct user_regs_struct; -1: immediate */
  uint8_t string;
  uint8_t size;
  uint8_t nderefs;
  uint8_t pad;
  uint64_t immediate;
  int64_t derefs[PK_MAX_DEREFS];
};

struct pk_program { /* followed by nreads pk_read */
  uint32_t nreads;
  uint32_t max_record; /* bytes: the largest record a hit can write */
  uint32_t regs_mask;  /* the registers records keep (bit i: PK_RECORD_REGS order) */
  uint32_t pad;
};

/* The registers a record can keep, in this order: r15..rdi (the first 15
 * words of struct user_regs_struct), then rip, eflags, rsp, fs_base; a
 * record keeps those of its program's regs_mask, in this order. */
#define PK_RECORD_REGS 19
#define PK_RECORD_PAD 0xffffffffu /* pk_record.site of a filler: the ring goes on at its start */

struct pk_record {
  uint32_t size; /* bytes, this header included, a multiple of 8 */
  uint32_t site; /* the site's index, or PK_RECORD_PAD */
  uint64_t tsc;  /* rdtsc at the hit */
  uint32_t pid, tid;
  uint32_t cpu;  /* the CPU the hit ran on (rseq's cpu_id, or the kernel's CPUNODE segment limit) */
  uint32_t nitems;
  char comm[16]; /* the thread's name when it first hit (prctl PR_GET_NAME) */
  uint32_t regs_mask; /* the registers kept, PK_RECORD_REGS order */
  uint32_t pad;
  /* popcount(regs_mask) register words, then nitems times: a pk_item,
   * then its bytes, padded to 8 */
};

#define PK_ITEM_FAULT 1u  /* the memory could not be read: no bytes follow */
#define PK_ITEM_STRING 2u /* a string read (length: bytes kept, NUL included when found) */
/* D clauses in the agent (PK_ACTION_DPROG) ask probekit to print: an output
 * record (regs_mask PK_RECORD_DOUT: not a hit, the trampoline counted it)
 * holds, in the order the clauses ran, one item per output action (address:
 * the action's id, d/agent_codegen.h AgentPlan::actions; its values, 8
 * bytes each, a string as its length word then its bytes padded to 8) and
 * one per clause a fault abandoned (address: the id of the action it was
 * in; two words: DTrace's fault code, the faulting address). */
#define PK_ITEM_DOUT 4u
#define PK_ITEM_DFAULT 8u
#define PK_RECORD_DOUT 0x80000000u
#define PK_DOUT_MAX 8192u /* bytes a hit's output record may take (header included) */

struct pk_item {
  uint64_t address;
  uint32_t length;
  uint32_t flags;
};

/* One thread's ring. A slot belongs to one (fs base, pid): the agent finds
 * the hitting thread's slot by its fs base (rdfsbase) and its process's
 * identity word, and claims a free one at the thread's first record
 * (asking the kernel its tid once). probekit hands a slot to a new thread
 * that reuses an exited thread's fs base (glibc reuses thread stacks) at
 * the new thread's clone event, before it runs. */
struct pk_thread {
  uint64_t key;  /* fs base; 0: free */
  uint32_t pid;
  uint32_t tid;  /* 0 while the slot is being claimed */
  uint32_t busy; /* the thread is inside pk_agent_hit (recursion guard) */
  uint32_t pad;
  uint64_t head; /* bytes ever written (the agent) */
  uint64_t tail; /* bytes ever consumed (probekit) */
  char comm[16]; /* the thread's name, read when the slot is claimed */
  uint64_t pending_tsc; /* the TSC of the record being written (or of the last) */
  uint64_t rng;         /* PK_ACTION_OVERRIDE's sampling: the thread's xorshift state (0: not seeded) */
};

/* A patch probekit wrote into the program's code (an int3 or a jmp), as
 * the agent must undo it if probekit disappears. probekit fills an entry
 * before it writes the patch and marks it disarmed after removing it. */
struct pk_patch {
  uint64_t address;
  uint64_t resume;      /* jmp: where a thread trapping at address goes while
                           the jmp is being taken out (the relocated copy) */
  uint8_t original[8];  /* the bytes the patch replaced */
  uint32_t length;      /* 1 (int3) or 5 (jmp); 0: unused entry */
  uint32_t armed;       /* the patch is in the program's code: PK_PATCH_ARMED, or PK_PATCH_ARMED_LAST
                           for a hop in the padding before a function, which its jmp rel8 reaches
                           and which must be put back only after it */
};
#define PK_PATCH_ARMED 1u
#define PK_PATCH_ARMED_LAST 2u

/* The kernel's struct sigaction for rt_sigaction(2) on x86-64. */
struct pk_kernel_sigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

#define PK_DIRECT_RANGES 8

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
  uint64_t reserved[4]; /* probekit's scratch for remote system calls */
  /* Records: addresses in the target (only the agent dereferences them);
   * threads_remote is 0 until the first record site. */
  uint64_t threads_remote; /* pk_thread[nthreads_max] */
  uint64_t rings_remote;   /* nthreads_max rings of ring_size bytes */
  uint32_t nthreads_max;   /* a power of two */
  uint32_t ring_size;      /* a power of two */
  uint64_t identity;       /* a private page of the process: its pid (a fork child gets its own) */
  uint32_t fsgsbase;       /* rdfsbase is enabled (AT_HWCAP2); else arch_prctl */
  uint32_t rseq;           /* rseq_offset is known: the CPU is the thread's rseq cpu_id */
  int64_t rseq_offset;     /* glibc's __rseq_offset: struct rseq at fs base + this */
  uint64_t cpu_drops[64];  /* records lost, by CPU (cpu & 63) */
  uint64_t tid_offset;     /* where glibc keeps a thread's tid from its fs base (0: unknown) */
  /* D clauses in the agent (dvm.h): every thread slot has a part of
   * dstate_stride bytes at dstate_remote + slot * stride: its dself_words
   * self-> variables, then one table per aggregation (pk_dagg, at
   * daggs_offset in the data area). Unused until the first DPROG site. */
  uint64_t dstate_remote;
  uint32_t dstate_stride;
  uint32_t dself_words;
  uint32_t daggs_offset;
  uint32_t ndaggs;
  /* timestamp: ns = ns_base + ((tsc - tsc_base) * tsc_mult >> tsc_shift) */
  uint64_t tsc_base, ns_base, tsc_mult;
  uint32_t tsc_shift;
  /* D global integer variables: one word each, shared by every thread of
   * the process, after the thread parts (at dstate_remote + nthreads_max *
   * dstate_stride); probekit reads and adjusts them (d/program.cpp
   * sync_globals). */
  uint32_t dglobal_words;
  /* A system call probekit runs in a stopped thread goes through the
   * agent's gadget, pk_agent_syscall: `syscall; int3`. Before it changes
   * the thread's registers, probekit keeps them here (struct
   * user_regs_struct's 27 words) and then sets inject_tid; it clears
   * inject_tid once the registers are back. If probekit dies in between,
   * the thread traps at the gadget (the single step's trap, or the int3 when
   * it was not stepping) with nobody to serve it, and the SIGTRAP handler
   * puts the kept registers back itself (agent.c inject_recover). */
  uint64_t inject_tid;
  uint64_t inject_regs[27];
  /* CLOCK_REALTIME minus the timestamp clock (CLOCK_MONOTONIC), in ns, when
   * the D state was set up: D's walltimestamp in the agent. */
  int64_t wall_offset;
  /* Memory the agent reads directly, without process_vm_readv (agent.c
   * safe_read): ranges [start, end) that stay mapped and readable as long
   * as the process runs, written by probekit before the first record
   * site: the main executable's read-only mappings (nothing in the
   * process unmaps its own executable; the dynamic loader's RELRO only
   * makes more of it read-only) and the main thread's stack as it was
   * (the kernel grows a stack's mapping down, never shrinks it, and a
   * read of a page in it that was never touched gets a zero page, not a
   * fault). ndirect of them, sorted, adjacent ones merged. */
  uint32_t ndirect;
  uint32_t pad_direct;
  uint64_t direct[PK_DIRECT_RANGES][2];
  /* D's exit() (dtrace-utils' activity state going to DRAINING): set by a
   * clause's exit() (PK_OP_EXIT), in the agent or in the tracer's run of
   * the same code; from then on no D site of the process runs its clauses
   * (the firing that called exit() finishes its clause), so another
   * thread's hits between the exit() and probekit stopping the process
   * change nothing, as under the trap backend. */
  uint32_t dexited;
  uint32_t pad_dexited;
};

/* ---- D clauses (PK_ACTION_DPROG) ----
 * The D front end compiles the clauses of a probe it can run here into a
 * small stack machine's code (d/agent_codegen.h); dvm.h runs it at each
 * hit, with no loop and no backward jump, so a hit runs each instruction
 * at most once. Values are 64-bit words. */
struct pk_dprog {
  uint32_t size;  /* bytes of code after this header */
  uint32_t probe; /* the D program's probe id */
  /* The same clauses as machine code (engine/dvm_native.h), called as
   * uint32_t (*)(struct pk_dvm_hit *) instead of pk_dvm_run; 0: interpreted.
   * Set before the site is published, never changed after. */
  uint64_t native;
};

#define PK_DAGG_COUNT 0u
#define PK_DAGG_SUM 1u
#define PK_DAGG_AVG 2u
#define PK_DAGG_MIN 3u
#define PK_DAGG_MAX 4u
#define PK_DAGG_STDDEV 5u
#define PK_DAGG_QUANTIZE 6u
#define PK_DAGG_LQUANTIZE 7u
#define PK_DAGG_LLQUANTIZE 8u

/* One aggregation's table in every thread's part, at `offset`: a
 * pk_dagg_table, then `capacity` entries of 1 + key_words + value_words
 * words: a state word (0 free, 1 in use; set after the key is written),
 * the key, the value. Only the thread owning the part writes it. Values:
 * COUNT count; SUM sum; AVG count, sum; MIN/MAX count, value; STDDEV
 * count, sum, sum of squares (low, high); QUANTIZE 127 buckets (DTrace's);
 * LQUANTIZE levels + 2 buckets; LLQUANTIZE 2 * npos + 3 buckets, dtrace-utils'
 * layout (d/aggregation.cpp llq_shape: npos = (hmag - lmag + 1) * (steps -
 * steps / factor)). */
struct pk_dagg {
  uint32_t offset;
  uint32_t capacity; /* a power of two */
  uint16_t key_words;
  uint16_t value_words;
  uint32_t func;     /* PK_DAGG_* */
  int64_t lo, step;  /* LQUANTIZE */
  uint32_t levels;
  uint32_t pad;
  uint16_t factor, lmag, hmag, steps; /* LLQUANTIZE, as validated by the D front end:
                                         factor^(hmag + 1) fits in an int64 */
};
struct pk_dagg_table {
  uint64_t drops; /* keys that found no free entry */
  uint64_t pad;
};

/* The code: one opcode byte, then its operands (little-endian, unaligned).
 *   IMM i64         push an immediate
 *   REG u8          push word u8 of the hit's struct user_regs_struct
 *   STK u8          push the 8 bytes at rsp + 8 * u8 (arg6.. at an entry; a
 *                   fault abandons the clause)
 *   VAR u8          push a built-in (PK_DVAR_*)
 *   SELF u16        push self-> variable u16 (0 when unset)
 *   SETSELF u16     pop into self-> variable u16
 *   DUP, POP
 *   binary ops      pop b, pop a, push a OP b (DIV/MOD only by a non-zero
 *                   constant: the code generator refuses the rest)
 *   NEG NOT LNOT    unary
 *   EXT u8 u8       truncate to u8 bytes, sign-extend when the second is 1
 *   JZ u16, JMP u16 forward jumps of u16 bytes from the end of the operand
 *   CLAUSE u16      a clause starts; u16: bytes to its end (where a fault
 *                   abandoning it goes)
 *   AGG u16         pop incr, value, then the aggregation's key words;
 *                   aggregate into pk_dagg u16
 *   COMM            push the thread's name as two words (execname)
 *   COMMEQ i64 i64  push 1 when the thread's name is these two words
 *   OUT u16 u8      pop u8 words (pushed in order) into an output item of
 *                   action u16 (printf, trace, printa, exit: probekit acts)
 *   OUTS u16 u8 u16[u8]  as OUT, each value's u16 saying what it is: 0 the
 *                   word, else the word is an address and the value the
 *                   string there, at most u16 bytes (copyinstr: read with
 *                   the fault-safe reader; nothing readable is DTrace's
 *                   bad-address fault, an ERROR item)
 *   LOAD u8 u8      pop an address, push the u8 bytes there (sign-extended
 *                   when the second is 1); unreadable: DTrace's bad-address
 *                   fault (an ERROR item)
 *   STRCMP u16 u16 bytes  pop an address; push -1, 0 or 1 as the string
 *                   there (at most the first u16 bytes: strsize) compares
 *                   with the second u16 bytes that follow; unreadable: a
 *                   bad-address fault
 *   ACT u16         faults from here on are in action u16 (an ERROR item)
 *   DIVZ/MODZ u8    pop b, pop a, push a / b or a % b (u8 1: signed); a zero
 *                   b is DTrace's divide-by-zero fault (an ERROR item)
 *   OVERRIDE        pop a value: the function returns it (destructive,
 *                   -w): at an entry the trampoline returns to the caller
 *                   with rax the value and the function never runs; at a
 *                   return rax becomes the value (the last one wins)
 *   RAISE           pop a signal number and send it to the hitting thread
 *                   (tgkill; destructive, -w)
 *   GLOBAL u16      push global variable u16 (pk_control dglobal_words)
 *   SETGLOBAL u16   pop into global variable u16 (a plain store)
 *   ADDGLOBAL u16   pop n, add it to global variable u16 atomically (x++,
 *                   x += n from several threads lose no update)
 *   AGET u32        pop an associative array's key words, push its value
 *                   (0: no element); u32: the array's table (pk_darray), as
 *                   a word index among the global words
 *   ASET u32        pop the value, then the key words: store it (0 deletes
 *                   the element, as DTrace does)
 *   AADD u32        pop n, then the key words: add n to the element
 *                   atomically (created when missing; deleted when 0)
 *   Strings: a string value on the stack is the address, in the process
 *   running the code, of a NUL-terminated copy (in the thread's part, the
 *   code or the thread's name), never of the target's memory:
 *   SREAD u16 u16   pop an address; read the target's string there, at
 *                   most the second u16 bytes (strsize), into the part at
 *                   word u16 (NUL-terminated); push its address; nothing
 *                   readable: a bad-address fault (copyinstr)
 *   SVAR u16        push the address of the string at word u16 of the part
 *                   (a self->/this-> string: "" until set)
 *   SSTORE u16 u16  pop a string; copy at most the second u16 bytes of it
 *                   (NUL-terminated) to word u16 of the part
 *   SLIT u16 bytes  push the address of the u16 bytes that follow (and
 *                   their NUL, one byte more)
 *   SCOMM           push the address of the thread's name (execname)
 *   SCMP u16        pop b, pop a (strings); push -1, 0 or 1 as strcmp
 *                   orders them (unsigned bytes, at most u16 compared)
 *   SLEN u16        pop a string; push its length (at most u16)
 *   SKEY u16        pop a string; push it as u16 words (its bytes, at most
 *                   8 * u16, zero-padded): an aggregation's key part
 *   SJOIN u16 u16   pop b, pop a (strings); write a then b, at most the
 *                   second u16 bytes, to word u16 of the part; push it
 *                   (strjoin)
 *   SUBSTR u16 u16 u8  pop n when u8 is 1, pop index, pop a string; write
 *                   DTrace's substr() of it (a negative index counts from
 *                   the end, a negative n leaves that many bytes off), at
 *                   most the second u16 bytes, to word u16; push it
 *   OUTS's u16 with bit 0x8000 set: the word is a string value (above),
 *                   copied into the item (at most u16 & 0x7fff bytes)
 *   SETSELFDYN u16 u16 u32  SETSELF u16 charged to the dynvarsize budget
 *                   (the pk_ddyn at global word u32) as the tracer charges
 *                   a self-> variable: its first non-zero store charges
 *                   self_bytes and sets the variable's own flag word u16
 *                   (second); no room: a dynamic variable drop, no store;
 *                   0 deletes it (its flag cleared, the charge given back)
 *   SGLOBAL u32 u16 push the address of string global u32 (u16 = strsize
 *                   bytes and a NUL at global word u32, shared by the
 *                   process's threads; "" until set)
 *   SSETGLOBAL u32 u16  pop a string; copy at most u16 bytes of it to
 *                   string global u32, then its NUL. No lock: a thread
 *                   reading the variable while another stores it may see
 *                   old and new bytes mixed (DTrace's string stores are not
 *                   atomic either), never more than u16 bytes (the last
 *                   byte of the variable's room is only ever a NUL)
 *   ASGET u32       as AGET for an array of strings (pk_darray
 *                   value_words): push the address of the element's string
 *                   (in its entry; "" when there is no element)
 *   ASSET u32 u16   as ASET for an array of strings: pop a string, then
 *                   the key words; copy at most u16 bytes (strsize) of it
 *                   and its NUL into the element ("" deletes it, as the
 *                   tracer does). No lock, as SSETGLOBAL: a reader may see
 *                   old and new bytes mixed, never more than u16 of them
 *   SSTOREDYN u16 u16 u16 u32  SSTORE u16 u16 to a self-> string, charged
 *                   as SETSELFDYN charges (its flag word the third u16, the
 *                   pk_ddyn at global word u32): no room, a drop, no store
 *   USTACK u16 u8 u32 u16 u16 u16  walk the hitting thread's user stack (at
 *                   most the first u16 frames, as the tracer's walk: the
 *                   probed instruction, its caller by the call frame rule
 *                   when the frame-pointer chain misses it, then the rbp
 *                   chain read with the fault-safe reader; dvm.h
 *                   pk_dvm_ustack) and push, by u8 (PK_USTACK_*): the
 *                   frame count (ustackdepth), the second frame or 0
 *                   (ucaller), or the stack's id in the thread's stack
 *                   table (ustack() as a key: a pk_dstacks at byte u32 of
 *                   the part, u16 entries of 2 + the second u16 words,
 *                   at most the third u16 of them used; 0 when the table
 *                   is full, a drop counted there), or
 *                   the stack itself for an output item (PK_USTACK_LOCAL)
 *   EXIT            exit() was called: the process's D sites stop running
 *                   their clauses (pk_control dexited)
 *   END             the probe's last clause is done */
enum {
  PK_OP_END = 0, PK_OP_IMM, PK_OP_REG, PK_OP_STK, PK_OP_VAR, PK_OP_SELF, PK_OP_SETSELF, PK_OP_DUP, PK_OP_POP,
  PK_OP_ADD, PK_OP_SUB, PK_OP_MUL, PK_OP_SDIV, PK_OP_SMOD, PK_OP_UDIV, PK_OP_UMOD, PK_OP_AND, PK_OP_OR,
  PK_OP_XOR, PK_OP_SHL, PK_OP_SAR, PK_OP_SHR, PK_OP_EQ, PK_OP_NE, PK_OP_SLT, PK_OP_SLE, PK_OP_SGT,
  PK_OP_SGE, PK_OP_ULT, PK_OP_ULE, PK_OP_UGT, PK_OP_UGE, PK_OP_NEG, PK_OP_NOT, PK_OP_LNOT, PK_OP_EXT,
  PK_OP_JZ, PK_OP_JMP, PK_OP_CLAUSE, PK_OP_AGG, PK_OP_COMM, PK_OP_COMMEQ,
  PK_OP_OUT, PK_OP_ACT, PK_OP_DIVZ, PK_OP_MODZ, PK_OP_OUTS, PK_OP_LOAD,
  PK_OP_STRCMP, PK_OP_OVERRIDE, PK_OP_RAISE, PK_OP_GLOBAL, PK_OP_SETGLOBAL, PK_OP_ADDGLOBAL, PK_OP_AGET,
  PK_OP_ASET, PK_OP_AADD,
  PK_OP_SREAD, PK_OP_SVAR, PK_OP_SSTORE, PK_OP_SLIT, PK_OP_SCOMM, PK_OP_SCMP, PK_OP_SLEN, PK_OP_SKEY,
  PK_OP_SJOIN, PK_OP_SUBSTR, PK_OP_SETSELFDYN, PK_OP_SGLOBAL, PK_OP_SSETGLOBAL,
  PK_OP_ASGET, PK_OP_ASSET, PK_OP_SSTOREDYN,
  PK_OP_USTACK, PK_OP_EXIT,
  PK_OP_COUNT_
};
/* An associative array of integers or strings keyed by integers and strings (a[k1, k2] = v), in
 * the global words: shared by the process's threads, so a lock-free
 * open-addressing table. A pk_darray, then `capacity` entries of 1 +
 * key_words + (value_words ? value_words : 1) words: a state word
 * (PK_DENTRY_*), the key, the value (an integer word, or a string's words). A key is
 * claimed by a compare-and-swap of a free state word and stays in its entry
 * for good: deleting it makes the entry a tombstone (DEAD) that the same key
 * revives, so no key is ever in two entries. Live elements are charged
 * elem_bytes each to the dynvarsize budget (pk_ddyn, shared by every array),
 * as the tracer charges them (d/compiler.cpp ArrayElem); an element that
 * finds no room is a dynamic variable drop. */
#define PK_DENTRY_FREE 0u
#define PK_DENTRY_CLAIMED 1u /* its key is being written */
#define PK_DENTRY_LIVE 2u
#define PK_DENTRY_DEAD 3u
#define PK_DENTRY_REVIVING 4u /* a DEAD entry one thread is charging for: the others wait */
struct pk_darray {
  uint64_t capacity;  /* entries, a power of two */
  uint64_t key_words;
  uint64_t elem_bytes; /* charged to the budget per live element */
  uint64_t dyn;        /* the pk_ddyn's word index among the global words */
  /* String keys (a[copyinstr(arg0)]): bit i set when key word i starts a
   * string part of string_key_words words (its bytes, NUL-padded). */
  uint64_t string_starts;
  uint64_t string_key_words;
  /* 0: the value is an integer word. Else an array of strings: the value
   * is value_words words (strsize bytes and a NUL, as a string global),
   * its charge in elem_bytes. */
  uint64_t value_words;
};
struct pk_ddyn {
  uint64_t used, limit; /* bytes of live elements; the budget (dynvarsize) */
  uint64_t drops;       /* elements that found no room */
  uint64_t self_bytes;  /* a self-> variable, charged at its first store (SETSELFDYN) */
};

/* ustack() keys (PK_OP_USTACK): a thread's stacks, interned in its part
 * (bpftrace's stack map, with the whole stack compared, not its hash), so
 * an aggregation's key holds one word, the stack's id: its entry's index
 * + 1. A pk_dstacks, then `capacity` entries of 2 + frames words: the
 * frame count (0: free), a hash, the frames. Only the owning thread writes
 * it; probekit reads a stack back by its id (Program::absorb_agent). */
struct pk_dstacks {
  uint64_t drops; /* stacks that found no room (their hits' aggregations dropped) */
  uint64_t used;  /* entries in use: at most the op's limit (3/4 of the table or less), so a lookup stays short */
};
#define PK_USTACK_DEPTH 0u  /* push the frame count (ustackdepth) */
#define PK_USTACK_CALLER 1u /* push the second frame, 0 when none (ucaller) */
#define PK_USTACK_KEY 2u    /* push the stack's id in the thread's table (0: full) */
#define PK_USTACK_LOCAL 3u  /* push the address of the table's scratch entry: the frame count, a word,
                               the frames (an OUTS value of kind PK_OUTS_STACK) */
#define PK_USTACK_MAX 1000u /* frames a walk may take (maxframes' bound) */

#define PK_DVAR_PID 0u
#define PK_DVAR_TID 1u
#define PK_DVAR_TIMESTAMP 2u
#define PK_DVAR_CPU 3u
#define PK_DVAR_RETOFF 4u /* at a return site: pk_site_rt.ret_offset (D's arg0 at pid:::return) */
#define PK_DVAR_WALLTIMESTAMP 5u /* timestamp + pk_control.wall_offset: CLOCK_REALTIME's ns */
#define PK_DVM_STACK 64 /* words: the code generator refuses deeper code */
#define PK_DVM_STRCMP_MAX 128 /* bytes of a string literal STRCMP compares with */
#define PK_OUTS_LOCAL 0x8000u /* OUTS: the value is a string value, not a target address */
#define PK_OUTS_STACK 0x4000u /* OUTS: the value is a walked stack (PK_USTACK_LOCAL) of at most the low
                                 bits' frames, copied as its frames (the length word: 8 per frame) */

/* ---- Return probes at jump speed (agent.c pk_agent_ret_*) ----
 * A return probe's entry site is a jump site whose trampoline calls
 * pk_agent_ret_entry: it pushes (sp, the real return address, the return
 * site, the site's return point) on the thread's shadow stack and says
 * whether the trampoline is to call the function: then the trampoline
 * pops the real return address (`lea rsp,[rsp+8]`) and `call`s the
 * function's relocated head, so that [sp] holds its return point, just
 * after that call, and the function's `ret` lands there, predicted by the
 * CPU's return stack (Frida's and uftrace's return hooks write the
 * address into [sp] instead, and that `ret` is always mispredicted). The
 * return point jumps to the return trampoline, which calls
 * pk_agent_ret_exit: it pops the frames for that sp, fires each one's
 * return site (rax the return value, rsp and rip as after the real
 * return) and returns the real return address, which the trampoline
 * `ret`s to: predicted too, the caller's own call being on top of the
 * return stack again. The shadow stacks are a private
 * anonymous mapping of the process (pk_agent_shadow): a fork child gets its
 * parent's copy with its memory, and the forking thread (same fs base)
 * finds its frames there with no tracer. */
#define PK_SHADOW_DEPTH 64    /* frames per thread (kretprobes' maxactive): deeper calls are missed */
#define PK_SHADOW_THREADS 256 /* a power of two */

struct pk_shadow_frame {
  uint64_t sp;   /* where the return address lives (rsp at the entry) */
  uint64_t orig; /* the real return address */
  uint32_t site;     /* the return site's index in the site table */
  uint16_t chained;  /* [sp] already held a return point (a tail call between two probed functions) */
  uint16_t unhooked; /* the real address is back in [sp] for an unwinder, until the catch */
  uint64_t rp;       /* the return point [sp] holds while the call runs (the entry trampoline's) */
};

struct pk_shadow_stack {
  uint64_t key;   /* the thread's fs base; 0: free */
  uint32_t depth; /* frames in use */
  uint32_t busy;  /* inside pk_agent_ret_*: a nested entry (a signal handler's) is not hijacked */
  uint64_t missed; /* calls not hijacked (full, nested) */
  uint64_t thread; /* the thread's pk_thread (agent.c shadow_thread; checked before use), 0: not known */
  struct pk_shadow_frame frames[PK_SHADOW_DEPTH];
};

struct pk_shadow_area {
  uint64_t trampoline;   /* the return trampoline (in a code area), where return points jump */
  uint64_t sites_remote; /* the site table, in the target */
  uint64_t lost;         /* returns that found no frame (the program then stops with SIGILL) */
  uint64_t missed;       /* entries without a free shadow stack */
  uint64_t unwinds;      /* unwinder hook hits */
  uint64_t reserved[3];
  struct pk_shadow_stack stacks[PK_SHADOW_THREADS];
};

#endif
