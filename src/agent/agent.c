/* agent/agent.c — the code probekit injects into a traced process.
 *
 * Freestanding: no libc, no TLS, no allocation, no relocations other than
 * R_X86_64_RELATIVE, no imported symbol (tests/unit/agent checks the built
 * object). It is built -mgeneral-regs-only, so it never touches a vector
 * register: the program's xmm/ymm/zmm state is never saved or disturbed,
 * in a signal handler or, later, in handlers called from trampolines.
 *
 * Counting needs no code here: a counting trampoline adds 1 to its
 * site's counter in the data area itself (engine/jump_backend.cpp).
 *   pk_agent_hit       called by a record site's trampoline with the saved
 *                      registers: runs the site's capture program and
 *                      appends one pk_record to the thread's ring
 *                      (agent_abi.h). Memory is read directly only where it
 *                      is certainly mapped (the stack between the
 *                      trampoline's frame and the end of the page holding
 *                      the probed rsp); anything else goes through
 *                      process_vm_readv on the process itself, which fails
 *                      instead of faulting: a bad pointer in a fetch-arg
 *                      costs a system call, never the program.
 *   pk_agent_ret_*     return probes (agent_abi.h pk_shadow_area): the
 *                      entry keeps the real return address on the
 *                      thread's shadow stack and has the trampoline call
 *                      the function, whose `ret` comes back to the
 *                      trampoline's return point; the exit fires the
 *                      return site (pk_agent_hit_ret: the entry's clauses
 *                      and the push in one call) and gives the real
 *                      address back; unwind/catch are the C++ unwinder's
 *                      hooks (real addresses back before unwinding, the
 *                      surviving frames hooked again at the catch).
 * The rest is the orphan guard:
 *   pk_agent_sigtrap   the process's SIGTRAP handler.
 *                      While probekit lives, every SIGTRAP of an int3 it
 *                      wrote stops in probekit and never reaches a handler;
 *                      the program's own SIGTRAPs are passed on to the
 *                      action the program had, as before. Once probekit is
 *                      gone (killed: its end of the death pipe closes, or
 *                      a thread runs into an int3 nobody serves), the agent
 *                      puts every original byte back itself, as the kernel
 *                      takes out an optimized kprobe: int3 over the jmp's
 *                      first byte, the rest restored, then the first byte;
 *                      a thread that traps meanwhile resumes in the copy.
 */
#include "agent_abi.h"
#include "dvm.h"

#define PK_EXPORT __attribute__((visibility("default")))

/* The data area's address in the target, written by probekit when it
 * loads the image (the agent only reads it). */
PK_EXPORT volatile uint64_t pk_agent_data = 0;

/* The ABI version this image was built for (probekit refuses a mismatch). */
PK_EXPORT const uint32_t pk_agent_abi_version = PK_AGENT_ABI_VERSION;

/* The return probes' shadow stacks (struct pk_shadow_area, a private
 * mapping), written by probekit when it maps them; 0 until then. */
PK_EXPORT volatile uint64_t pk_agent_shadow = 0;

/* ---- raw system calls ---- */

static long sys3(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}
static long sys6(long nr, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
static long sys4(long nr, long a, long b, long c, long d) {
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}

enum {
  NR_read = 0, NR_rt_sigaction = 13, NR_sched_yield = 24, NR_getpid = 39, NR_close = 3, NR_gettid = 186,
  NR_tgkill = 234, NR_openat = 257, NR_pwrite64 = 18, NR_arch_prctl = 158, NR_process_vm_readv = 310,
  ARCH_GET_FS_ = 0x1003, NR_prctl = 157, PR_GET_NAME_ = 16, NR_madvise = 28, MADV_POPULATE_WRITE_ = 23,
  AT_FDCWD_ = -100, O_RDWR_ = 2, O_CLOEXEC_ = 02000000,
  SIGTRAP_ = 5, SI_KERNEL_ = 0x80, SI_SIGIO_ = -5, POLL_HUP_ = 6,
  SA_SIGINFO_ = 4, SA_RESTORER_ = 0x04000000,
  /* ucontext_t: uc_flags, uc_link, uc_stack (24 bytes), then gregs[REG_RIP = 16] */
  UC_GREGS_OFFSET = 8 + 8 + 24,
  UC_RIP_OFFSET = UC_GREGS_OFFSET + 16 * 8,
  EFLAGS_TF = 0x100, NR_restart_syscall = 219,
};
#define SIG_DFL_ 0ull
#define SIG_IGN_ 1ull

/* The sigreturn trampoline for our SIGTRAP action. */
__asm__(".text\n.globl pk_agent_restorer\n.type pk_agent_restorer,@function\n"
        "pk_agent_restorer:\n  mov $15, %eax\n  syscall\n  hlt\n"
        ".size pk_agent_restorer, .-pk_agent_restorer\n");

/* The system call gadget probekit's remote system calls run (agent_abi.h
 * pk_control.inject_*): exported for probekit, and under a hidden name for
 * the agent's own rip-relative reference. */
__asm__(".text\n.globl pk_agent_syscall\n.type pk_agent_syscall,@function\n"
        ".globl pk_syscall_gadget\n.hidden pk_syscall_gadget\n"
        "pk_agent_syscall:\npk_syscall_gadget:\n  syscall\n  int3\n"
        ".size pk_agent_syscall, .-pk_agent_syscall\n");
extern const uint8_t pk_syscall_gadget[] __attribute__((visibility("hidden")));

static struct pk_control *control(void) { return (struct pk_control *)(uintptr_t)pk_agent_data; }
static struct pk_patch *patches(struct pk_control *c) {
  return (struct pk_patch *)((uint8_t *)c + c->patches_offset);
}

static void poke(long fd, uint64_t address, const uint8_t *bytes, long n) {
  sys4(NR_pwrite64, fd, (long)bytes, n, (long)address);
}

/* Every patch out of the program's code, whichever thread gets here first;
 * the others wait until it is done. /proc/self/mem writes through the
 * pages' protection, as probekit's own writes do. */
static void restore_all(struct pk_control *c) {
  uint32_t expected = 0;
  if (!__atomic_compare_exchange_n(&c->restoring, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&c->restoring, __ATOMIC_ACQUIRE) != 2) sys3(NR_sched_yield, 0, 0, 0);
    return;
  }
  static const char path[] = "/proc/self/mem";
  long fd = sys4(NR_openat, AT_FDCWD_, (long)path, O_RDWR_ | O_CLOEXEC_, 0);
  if (fd >= 0) {
    struct pk_patch *p = patches(c);
    const uint32_t n = c->npatches;
    static const uint8_t int3 = 0xcc;
    /* Hops (PK_PATCH_ARMED_LAST) after the patches that jump to them. */
    for (uint32_t pass = PK_PATCH_ARMED; pass <= PK_PATCH_ARMED_LAST; ++pass) {
      for (uint32_t i = 0; i < n; ++i) {
        if (p[i].armed == pass && p[i].length > 1) poke(fd, p[i].address, &int3, 1);
      }
      for (uint32_t i = 0; i < n; ++i) {
        if (p[i].armed == pass && p[i].length > 1) poke(fd, p[i].address + 1, p[i].original + 1, p[i].length - 1);
      }
      for (uint32_t i = 0; i < n; ++i) {
        if (p[i].armed == pass) poke(fd, p[i].address, p[i].original, 1);
      }
    }
    sys3(NR_close, fd, 0, 0);
  }
  if (c->death_fd >= 0) sys3(NR_close, c->death_fd, 0, 0);
  __atomic_store_n(&c->restoring, 2, __ATOMIC_RELEASE);
}

/* The patch whose first byte is at address, or 0. */
static struct pk_patch *patch_at(struct pk_control *c, uint64_t address) {
  struct pk_patch *p = patches(c);
  for (uint32_t i = 0; i < c->npatches; ++i) {
    if (p[i].length && p[i].address == address) return &p[i];
  }
  return 0;
}

/* probekit died while this thread ran one of its system calls (agent_abi.h
 * pk_control.inject_*): the thread traps at the gadget, before its syscall
 * (a step that finished the call it was stopped in), just past it (the
 * step's trap at the call's exit) or past the int3 (it was not stepping).
 * Its kept registers go back into the frame sigreturn restores, without the
 * step's trap flag; a system call it was stopped in is restarted as the
 * kernel would have (sigreturn itself never restarts one). */
static int inject_recover(struct pk_control *c, uint8_t *uc) {
  uint64_t *g = (uint64_t *)(uc + UC_GREGS_OFFSET);
  const uint64_t at = (uint64_t)(uintptr_t)pk_syscall_gadget;
  const uint64_t rip = g[16];
  if (rip != at && rip != at + 2 && rip != at + 3) return 0;
  const uint64_t tid = __atomic_load_n(&c->inject_tid, __ATOMIC_ACQUIRE);
  if (!tid || tid != (uint64_t)sys3(NR_gettid, 0, 0, 0)) return 0;
  const uint64_t *u = c->inject_regs;
  /* ucontext gregs: r8 r9 r10 r11 r12 r13 r14 r15 rdi rsi rbp rbx rdx rax rcx rsp rip eflags;
   * user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp */
  static const uint8_t from[18] = {9, 8, 7, 6, 3, 2, 1, 0, 14, 13, 4, 5, 12, 10, 11, 19, 16, 18};
  for (int i = 0; i < 18; ++i) g[i] = u[from[i]];
  g[17] &= ~(uint64_t)EFLAGS_TF;
  const int64_t orig = (int64_t)u[15], rax = (int64_t)u[10];
  if (orig >= 0 && (rax == -512 || rax == -513 || rax == -514 || rax == -516)) {
    g[13] = rax == -516 ? (uint64_t)NR_restart_syscall : (uint64_t)orig;
    g[16] -= 2;
  }
  __atomic_store_n(&c->inject_tid, 0, __ATOMIC_RELEASE);
  return 1;
}

typedef void (*pk_sigaction_fn)(int, void *, void *);
typedef void (*pk_handler_fn)(int);

PK_EXPORT void pk_agent_sigtrap(int sig, void *info, void *uc) {
  struct pk_control *c = control();
  const int code = *(const int *)((const uint8_t *)info + 8);
  const int fd = *(const int *)((const uint8_t *)info + 24);
  uint64_t *rip = (uint64_t *)((uint8_t *)uc + UC_RIP_OFFSET);
  if (inject_recover(c, (uint8_t *)uc)) {
    restore_all(c); /* a thread that is not served means probekit is gone */
    return;
  }
  if ((code == SI_SIGIO_ || (code > 0 && code <= POLL_HUP_)) && fd == c->death_fd && c->death_fd >= 0) {
    /* F_SETSIG's signal from the death pipe (si_code POLL_IN, or SI_SIGIO
     * as observed when it reaches us through a ptrace stop). A trap's
     * si_code can have the same values, so ask the pipe itself: end of
     * file means its only writer, probekit, is gone. */
    /* Once restored, the pipe is closed: a late copy of the same signal
     * (one can be queued per thread and per process) is ours too. */
    if (__atomic_load_n(&c->restoring, __ATOMIC_ACQUIRE) == 2) return;
    char byte;
    if (sys3(NR_read, c->death_fd, (long)&byte, 1) == 0) {
      restore_all(c);
      return;
    }
  }
  struct pk_patch *p = code == SI_KERNEL_ ? patch_at(c, *rip - 1) : 0;
  if (p && (p->armed || c->restoring)) {
    /* An int3 of probekit's that nobody served: probekit is gone. */
    const int was_jump = p->length > 1;
    restore_all(c);
    *rip = was_jump && __atomic_load_n(&c->restoring, __ATOMIC_ACQUIRE) != 2 ? p->resume : p->address;
    return;
  }
  if (code == SI_KERNEL_ && *(const volatile uint8_t *)(uintptr_t)(*rip - 1) != 0xcc) {
    /* An int3 trap whose int3 is no longer before rip: probekit served the
     * hit (rip moved to the copy, or past an emulated instruction) and died
     * before resuming the thread, which got the trap back. Go on from there. */
    restore_all(c);
    return;
  }
  /* The program's own SIGTRAP: its own action, as if we were not here. */
  const uint64_t h = c->previous.handler;
  if (h == SIG_IGN_) return;
  if (h == SIG_DFL_) {
    struct pk_kernel_sigaction dfl = {SIG_DFL_, 0, 0, 0};
    sys4(NR_rt_sigaction, SIGTRAP_, (long)&dfl, 0, 8);
    sys3(NR_tgkill, sys3(NR_getpid, 0, 0, 0), sys3(NR_gettid, 0, 0, 0), SIGTRAP_);
    return;
  }
  if (c->previous.flags & SA_SIGINFO_) {
    ((pk_sigaction_fn)(uintptr_t)h)(sig, info, uc);
  } else {
    ((pk_handler_fn)(uintptr_t)h)(sig);
  }
}

/* ---- records ---- */

struct pk_iovec {
  uint64_t base;
  uint64_t len;
};

struct hit {
  struct pk_control *c;
  uint64_t *frame;   /* the trampoline's saves: r15..rdi, rflags */
  uint64_t rsp;      /* rsp at the probed instruction */
  uint64_t rip;
  uint64_t fsbase;
  uint64_t direct_lo, direct_hi; /* memory certainly mapped: read without a system call */
  uint32_t pid;
};

enum { FRAME_FLAGS = 15, FRAME_WORDS = 16, RED_ZONE = 128 };

static void copy_bytes(uint8_t *dst, const uint8_t *src, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) dst[i] = src[i];
}

/* Copies n bytes from memory certainly mapped, 8 at a time; with
 * `string`, stops after the word holding a NUL (the caller reads up to
 * the NUL only). */
static void copy_direct(uint8_t *dst, const uint8_t *src, uint32_t n, int string) {
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, src + i, 8); /* one unaligned load */
    __builtin_memcpy(dst + i, &w, 8);
    if (string && ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)) return; /* a zero byte in w */
  }
  copy_bytes(dst + i, src + i, n - i);
}

/* How many bytes from addr (at most len) lie in memory the agent may read
 * directly: the hit's own stack window, or one of probekit's ranges that
 * stay mapped (agent_abi.h pk_control.direct). A thread's stack above its
 * rsp cannot go away under the read either, but only the window up to the
 * end of rsp's page is known here for any thread. */
static uint32_t direct_bytes(const struct hit *h, uint64_t addr, uint32_t len) {
  uint64_t end = 0;
  if (addr >= h->direct_lo && addr < h->direct_hi) {
    end = h->direct_hi;
  } else {
    const struct pk_control *c = h->c;
    const uint32_t n = c->ndirect < PK_DIRECT_RANGES ? c->ndirect : PK_DIRECT_RANGES;
    for (uint32_t i = 0; i < n; ++i) {
      if (addr >= c->direct[i][0] && addr < c->direct[i][1]) {
        end = c->direct[i][1];
        break;
      }
    }
  }
  if (!end) return 0;
  return end - addr < len ? (uint32_t)(end - addr) : len;
}

/* Reads up to len bytes at addr into dst; returns how many could be read
 * from the start (the remote side is split at page boundaries, so a
 * partial read ends exactly where the mapping does). What lies in memory
 * that cannot go away (direct_bytes) is copied with plain loads; the rest,
 * which another thread may unmap at any moment, goes through
 * process_vm_readv on the process itself, which fails instead of
 * faulting. */
static uint32_t safe_read_string(const struct hit *h, uint64_t addr, uint8_t *dst, uint32_t len, int string) {
  const uint32_t direct = direct_bytes(h, addr, len);
  if (direct) {
    copy_direct(dst, (const uint8_t *)(uintptr_t)addr, direct, string);
    if (direct == len) return len;
    if (string) { /* its NUL already read: the rest is not needed */
      for (uint32_t i = 0; i < direct; ++i)
        if (!dst[i]) return direct;
    }
    return direct + safe_read_string(h, addr + direct, dst + direct, len - direct, string);
  }
  struct pk_iovec local = {(uint64_t)(uintptr_t)dst, len};
  struct pk_iovec remote[3];
  uint32_t n = 0;
  uint64_t a = addr, left = len;
  while (left && n < 3) {
    uint64_t in_page = 4096 - (a & 4095);
    uint64_t k = left < in_page ? left : in_page;
    remote[n].base = a;
    remote[n].len = k;
    ++n;
    a += k;
    left -= k;
  }
  long r = sys6(NR_process_vm_readv, h->pid, (long)&local, 1, (long)remote, n, 0);
  return r > 0 ? (uint32_t)r : 0;
}

static uint64_t reg_value(const struct hit *h, int32_t reg) {
  /* struct user_regs_struct's words: 0..14 r15..rdi, 15 orig_rax, 16 rip,
   * 17 cs, 18 eflags, 19 rsp, 20 ss, 21 fs_base (engine/record_context.cpp
   * rebuilds the same struct from a record). */
  if (reg >= 0 && reg < 15) return h->frame[reg];
  switch (reg) {
    case 15: return ~0ull;
    case 16: return h->rip;
    case 17: return 0x33;
    case 18: return h->frame[FRAME_FLAGS];
    case 19: return h->rsp;
    case 20: return 0x2b;
    case 21: return h->fsbase;
    default: return 0;
  }
}

/* Appends one item (header + bytes) at *at; returns the value read (for a
 * dereference) through *value, and whether the read succeeded. */
static int capture(const struct hit *h, uint8_t **at, uint64_t addr, uint32_t len, int string, uint64_t *value) {
  struct pk_item *item = (struct pk_item *)*at;
  uint8_t *bytes = *at + sizeof *item;
  item->address = addr;
  item->flags = 0;
  uint32_t got = safe_read_string(h, addr, bytes, len, string);
  if (string) {
    uint32_t n = 0;
    while (n < got && bytes[n]) ++n;
    if (n == 0 && got == 0) {
      item->flags = PK_ITEM_FAULT | PK_ITEM_STRING;
      item->length = 0;
      *at += sizeof *item;
      return 0;
    }
    item->flags = PK_ITEM_STRING;
    item->length = n < got ? n + 1 : got; /* the NUL kept when found */
  } else {
    if (got != len) {
      item->flags = PK_ITEM_FAULT;
      item->length = 0;
      *at += sizeof *item;
      return 0;
    }
    item->length = len;
    uint64_t v = 0;
    copy_bytes((uint8_t *)&v, bytes, len);
    if (value) *value = v;
  }
  *at += sizeof *item + ((item->length + 7u) & ~7u);
  return 1;
}

static uint64_t read_fsbase(const struct pk_control *c) {
  uint64_t fs = 0;
  if (c->fsgsbase) {
    __asm__ volatile("rdfsbase %0" : "=r"(fs));
  } else {
    sys3(NR_arch_prctl, ARCH_GET_FS_, (long)&fs, 0);
  }
  return fs;
}

static uint64_t slot_hash(uint64_t fs, uint32_t pid) {
  uint64_t x = fs ^ ((uint64_t)pid << 32);
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 32;
  return x;
}

/* The hitting thread's slot: found by (fs base, pid), or claimed. */
static void claimed(struct pk_control *c, struct pk_thread *tab, struct pk_thread *t, uint32_t pid, uint32_t tid) {
  t->pid = pid;
  t->busy = 0;
  sys3(NR_prctl, PR_GET_NAME_, (long)t->comm, 0);
  if (c->dstate_remote) { /* a new thread: its self-> variables start unset */
    uint64_t *self = (uint64_t *)(uintptr_t)(c->dstate_remote + (uint64_t)(t - tab) * c->dstate_stride);
    for (uint32_t i = 0; i < c->dself_words; ++i) self[i] = 0;
  }
  /* Its ring's pages now, not one fault per page at later hits. */
  uint8_t *ring = (uint8_t *)(uintptr_t)c->rings_remote + (uint64_t)(t - tab) * c->ring_size;
  sys3(NR_madvise, (long)ring, c->ring_size, MADV_POPULATE_WRITE_);
  __atomic_store_n(&t->tid, tid, __ATOMIC_RELEASE);
}

/* The hitting thread's slot, or claimed. Where probekit found glibc's
 * thread id in the TCB (tid_offset), a slot is (fs base, that tid): a
 * thread that reuses an exited one's stack, or a fork child's thread with
 * its parent's fs base, tells itself apart with one load, also while
 * probekit is not attached; the first takes over the dead thread's slot
 * (same process), the second claims its own. Otherwise a slot is (fs
 * base, the identity page's pid) and probekit hands slots over at clone
 * events. */
/* Whether slot t, found under the thread's key, is the thread's own: its
 * tid as the TCB gives it (by_tid, self) or, without one, any claimed tid
 * of this process. */
static inline int slot_owned(const struct pk_thread *t, uint32_t tid, int by_tid, uint32_t self, uint32_t pid) {
  return by_tid ? tid == self : (tid && t->pid == pid);
}

static struct pk_thread *thread_slot(struct pk_control *c, uint64_t fs, uint32_t pid) {
  struct pk_thread *tab = (struct pk_thread *)(uintptr_t)c->threads_remote;
  const uint32_t n = c->nthreads_max, mask = n - 1;
  const int by_tid = c->tid_offset && fs;
  const uint32_t self = by_tid ? *(const volatile uint32_t *)(uintptr_t)(fs + c->tid_offset) : 0;
  if (!fs) fs = 1; /* a thread without TLS still needs a non-zero key */
  const uint32_t start = (uint32_t)slot_hash(fs, by_tid ? 0 : pid) & mask;
  uint32_t i = start;
  for (uint32_t k = 0; k < n; ++k, i = (i + 1) & mask) {
    struct pk_thread *t = &tab[i];
    uint64_t key = __atomic_load_n(&t->key, __ATOMIC_ACQUIRE);
    if (key == 0) break;
    if (key != fs) continue;
    /* Another thread with this key may be claiming the slot. */
    uint32_t tid = 0;
    for (int spin = 0; spin < 100000 && !(tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE)); ++spin) {
      __asm__ volatile("pause");
    }
    if (slot_owned(t, tid, by_tid, self, pid)) return t;
  }
  /* Not found: a new thread (the slow path, once per thread). */
  if (by_tid) {
    pid = (uint32_t)sys3(NR_getpid, 0, 0, 0);
    i = start;
    for (uint32_t k = 0; k < n; ++k, i = (i + 1) & mask) {
      struct pk_thread *t = &tab[i];
      uint64_t key = __atomic_load_n(&t->key, __ATOMIC_ACQUIRE);
      if (key == 0) break;
      if (key == fs && t->pid == pid) { /* its stack was an exited thread's */
        __atomic_store_n(&t->tid, 0, __ATOMIC_RELAXED);
        claimed(c, tab, t, pid, self);
        return t;
      }
    }
  }
  i = start;
  for (uint32_t k = 0; k < n; ++k, i = (i + 1) & mask) {
    struct pk_thread *t = &tab[i];
    uint64_t expected = 0;
    if (__atomic_load_n(&t->key, __ATOMIC_ACQUIRE) == 0 &&
        __atomic_compare_exchange_n(&t->key, &expected, fs, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      claimed(c, tab, t, pid, by_tid ? self : (uint32_t)sys3(NR_gettid, 0, 0, 0));
      return t;
    }
  }
  return 0;
}

/* The CPU: the thread's rseq cpu_id (a load) where glibc registered rseq,
 * else the limit of the kernel's per-CPU GDT entry (what the vDSO's getcpu
 * reads); rdtscp costs more than both here. */
static uint32_t current_cpu(const struct pk_control *c, uint64_t fs) {
  if (c->rseq && fs) {
    int32_t id = *(const volatile int32_t *)(uintptr_t)(fs + (uint64_t)c->rseq_offset + 4);
    if (id >= 0) return (uint32_t)id;
  }
  uint32_t p;
  __asm__ volatile("lsl %1, %0" : "=r"(p) : "r"(0x7bu));
  return p & 0xfff;
}

/* ---- D clauses (PK_ACTION_DPROG, dvm.h) ---- */

struct dprog_env {
  struct hit h;
  struct pk_thread *busy; /* the thread this hit marked busy */
  struct pk_record *rec;  /* the output record being written (dprog_open) */
  uint64_t head;          /* the ring's head before it (after a filler) */
};

/* The hit's use of the thread's slot t: none free, or a hit inside a hit
 * (a signal handler's) gets no state; otherwise the slot is marked busy
 * until the hit ends (dprog_hit). */
static struct pk_thread *dprog_claim(struct dprog_env *e, struct pk_thread *t) {
  if (!t || t->busy) return 0;
  __atomic_store_n(&t->busy, 1, __ATOMIC_RELAXED);
  e->busy = t;
  return t;
}
static struct pk_thread *dprog_thread(struct pk_dvm_hit *v) {
  struct dprog_env *e = (struct dprog_env *)v->env;
  return dprog_claim(e, thread_slot(e->h.c, e->h.fsbase, e->h.pid));
}
/* As a string read: dvm.h reads strings (copyinstr, comparisons), which
 * look no further than their NUL, and values of at most 8 bytes, which a
 * direct copy takes whole either way; a direct copy of a string stops at
 * the word with its NUL instead of copying all of strsize. */
static uint32_t dprog_read(struct pk_dvm_hit *v, uint64_t addr, uint8_t *dst, uint32_t len, int string) {
  return safe_read_string(&((struct dprog_env *)v->env)->h, addr, dst, len, string);
}
/* Exported: native code compares a hit's tsc callback with this one's
 * address and reads the TSC in place when they match (dvm_native.cpp). */
PK_EXPORT uint64_t pk_agent_dvm_tsc(struct pk_dvm_hit *v) {
  (void)v;
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
static uint32_t dprog_cpu(struct pk_dvm_hit *v) {
  struct dprog_env *e = (struct dprog_env *)v->env;
  return current_cpu(e->h.c, e->h.fsbase);
}

/* Room for a record of at most `need` bytes in the thread's ring, in one
 * piece (a filler to the ring's end first where the rest is too short):
 * the record, and in *at the head it starts at, or 0 when the ring is
 * full. Only the thread writes its ring's head; the caller publishes it
 * past the record (t->head, release) once the record is written. */
static struct pk_record *ring_claim(const struct pk_control *c, struct pk_thread *t, uint64_t need, uint64_t *at) {
  const uint64_t size = c->ring_size;
  uint8_t *ring = (uint8_t *)(uintptr_t)c->rings_remote + (uint64_t)(t - (struct pk_thread *)(uintptr_t)c->threads_remote) * size;
  uint64_t head = t->head;
  const uint64_t tail = __atomic_load_n(&t->tail, __ATOMIC_ACQUIRE);
  uint64_t off = head & (size - 1);
  if (size - off < need) {
    if (size - (head - tail) < (size - off) + need) return 0;
    struct pk_record *pad = (struct pk_record *)(ring + off);
    pad->size = (uint32_t)(size - off);
    pad->site = PK_RECORD_PAD;
    head += size - off;
    off = 0;
  } else if (size - (head - tail) < need) {
    return 0;
  }
  *at = head;
  return (struct pk_record *)(ring + off);
}

/* The hit's output record, in the thread's ring (the same protocol as
 * pk_agent_hit's records: busy, then the time where probekit sees it):
 * PK_DOUT_MAX contiguous bytes are claimed, the record is committed after
 * the clauses ran (dprog_hit). No room: the output is dropped. */
static uint8_t *dprog_open(struct pk_dvm_hit *v, uint32_t *cap) {
  struct dprog_env *e = (struct dprog_env *)v->env;
  if (!v->t) v->t = dprog_thread(v); /* as pk_dvm_thread, for a callback */
  struct pk_thread *t = v->t;
  if (!t) return 0;
  const struct pk_control *c = e->h.c;
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  const uint64_t tsc = ((uint64_t)hi << 32) | lo;
  __atomic_store_n(&t->pending_tsc, tsc, __ATOMIC_RELAXED);
  __asm__ volatile("" ::: "memory");
  uint64_t head;
  struct pk_record *r = ring_claim(c, t, PK_DOUT_MAX, &head);
  if (!r) return 0;
  r->tsc = tsc;
  e->rec = r;
  e->head = head;
  *cap = PK_DOUT_MAX - (uint32_t)sizeof *r;
  return (uint8_t *)(r + 1);
}

/* raise(): the signal goes to the hitting thread, as probekit's tgkill
 * sends it to a thread stopped at a trap site; the kernel delivers it when
 * the thread leaves the system call, before the probed code runs on. */
static void dprog_raise(struct pk_dvm_hit *v, uint64_t sig) {
  struct dprog_env *e = (struct dprog_env *)v->env;
  sys3(NR_tgkill, e->h.pid, sys3(NR_gettid, 0, 0, 0), (long)sig);
}

static struct pk_shadow_area *shadow_area(void);
static struct pk_shadow_stack *shadow_of(struct pk_shadow_area *a, uint64_t fs, int claim);

/* ustack()'s walk reads return addresses: one a return probe hijacked is
 * its site's return point (the frame's rp), and the program's is in the
 * thread's shadow stack, in the frame of that slot. */
static uint64_t dprog_real_return(struct pk_dvm_hit *v, uint64_t slot, uint64_t value) {
  struct pk_shadow_area *a = shadow_area();
  if (!a || !a->trampoline) return value; /* no return is hijacked */
  struct pk_shadow_stack *s = shadow_of(a, v->fsbase, 0);
  if (!s) return value;
  const uint32_t d = s->depth <= PK_SHADOW_DEPTH ? s->depth : 0;
  for (uint32_t i = d; i > 0; --i)
    if (s->frames[i - 1].sp == slot && s->frames[i - 1].rp == value) return s->frames[i - 1].orig;
  return value;
}

/* Native code's helpers (engine/dvm_native.h): what an op needs of the
 * agent, called at these addresses, each dvm.h's own code with this
 * file's callbacks, as pk_dvm_run calls them. */
static const struct pk_dvm_fns dprog_fns = {dprog_thread, dprog_read, pk_agent_dvm_tsc, dprog_cpu};
PK_EXPORT struct pk_thread *pk_agent_dvm_thread(struct pk_dvm_hit *v) { return pk_dvm_thread(v, &dprog_fns); }
PK_EXPORT uint8_t *pk_agent_dvm_part(struct pk_dvm_hit *v) { return pk_dvm_part(v, &dprog_fns); }
PK_EXPORT uint64_t pk_agent_dvm_timestamp(struct pk_dvm_hit *v) { return pk_dvm_timestamp(v, &dprog_fns); }
PK_EXPORT uint64_t pk_agent_dvm_cpu(struct pk_dvm_hit *v) { return dprog_cpu(v); }
PK_EXPORT void pk_agent_dvm_aggregate(const struct pk_dvm_hit *v, uint8_t *part, uint32_t index, const uint64_t *args) {
  pk_dvm_aggregate_at(v, part, index, args);
}
/* A clause the native compiler left to the interpreter, as a program of
 * its own (CLAUSE first: a fault ends it). */
PK_EXPORT uint32_t pk_agent_dvm_interpret(struct pk_dvm_hit *v, const uint8_t *code, uint32_t size) {
  return pk_dvm_run(v, code, size);
}
/* An op of a native clause the agent runs: dvm.h pk_dvm_native_op. */
PK_EXPORT uint32_t pk_agent_dvm_op(struct pk_dvm_hit *v, const uint8_t *op, uint32_t size, uint64_t *st,
                                   uint32_t depth, uint32_t action) {
  return pk_dvm_native_op(v, &dprog_fns, op, size, st, depth, action);
}

/* Returns nonzero when the clauses overrode the function's return (the
 * frame's rax is then the value: see pk_agent_hit). fsbase is the hitting
 * thread's; slot, when not 0, its thread slot already found (the return
 * side of a hijack keeps it with the shadow stack: no second lookup). */
static uint64_t dprog_hit(struct pk_control *c, uint64_t *frame, struct pk_site_rt *site, uint64_t fsbase,
                          struct pk_thread *slot) {
  if (!c->threads_remote || !c->dstate_remote || c->restoring) return 0;
  if (__atomic_load_n(&c->dexited, __ATOMIC_RELAXED)) return 0; /* after exit(): nothing runs */
  const struct pk_dprog *prog = (const struct pk_dprog *)((const uint8_t *)c + site->program);
  struct dprog_env e;
  e.busy = 0;
  e.rec = 0;
  e.head = 0;
  e.h.c = c;
  e.h.frame = frame;
  e.h.rsp = (uint64_t)(uintptr_t)(frame + FRAME_WORDS) + RED_ZONE;
  e.h.rip = site->return_site ? frame[FRAME_WORDS] : site->address; /* pk_agent_ret_exit: the real return address */
  e.h.fsbase = fsbase;
  e.h.pid = *(const volatile uint32_t *)(uintptr_t)c->identity;
  e.h.direct_lo = (uint64_t)(uintptr_t)frame;
  e.h.direct_hi = (e.h.rsp | 4095) + 1;
  struct pk_dvm_hit v;
  v.c = c;
  v.data = (const uint8_t *)c;
  v.threads = (struct pk_thread *)(uintptr_t)c->threads_remote;
  v.parts = (uint8_t *)(uintptr_t)c->dstate_remote;
  v.frame = frame;
  v.rsp = e.h.rsp;
  v.rip = e.h.rip;
  v.fsbase = e.h.fsbase;
  v.thread = dprog_thread;
  v.read = dprog_read;
  v.tsc = pk_agent_dvm_tsc;
  v.cpu = dprog_cpu;
  v.env = &e;
  v.t = slot ? dprog_claim(&e, slot) : 0;
  v.now = 0;
  v.ret_offset = site->ret_offset;
  v.open = dprog_open;
  v.out = 0;
  v.out_len = v.out_cap = v.out_items = v.out_drops = 0;
  v.raise = dprog_raise;
  v.overridden = 0;
  v.override_value = 0;
  /* ustack(): at a return site the hit is past the `ret` (rip the real
   * return address): the first frame is that `ret` (the function's one
   * exit: a code walking the stack there needs it, Probe::
   * agent_reads_return_offset) and the caller is known. */
  v.stack_top = site->return_site ? site->address + (uint64_t)site->ret_offset : site->address;
  v.stack_caller = site->return_site ? e.h.rip : 0;
  v.real_return = dprog_real_return;
  const uint32_t abandoned = prog->native ? ((uint32_t(*)(struct pk_dvm_hit *))(uintptr_t)prog->native)(&v)
                                           : pk_dvm_run(&v, (const uint8_t *)(prog + 1), prog->size);
  if (e.rec) {
    struct pk_record *r = e.rec;
    struct pk_thread *t = v.t;
    uint64_t head = e.head;
    if (v.out_items) {
      r->site = (uint32_t)(site - (struct pk_site_rt *)((uint8_t *)c + c->sites_offset));
      r->pid = t->pid;
      r->tid = t->tid;
      r->cpu = current_cpu(c, e.h.fsbase);
      r->nitems = v.out_items;
      __builtin_memcpy(r->comm, t->comm, sizeof r->comm);
      r->regs_mask = PK_RECORD_DOUT;
      r->pad = 0;
      r->size = (uint32_t)sizeof *r + v.out_len;
      head += r->size;
    }
    __atomic_store_n(&t->head, head, __ATOMIC_RELEASE);
  }
  if (v.out_drops) {
    const uint32_t cpu = current_cpu(c, e.h.fsbase);
    __atomic_fetch_add(&c->cpu_drops[cpu & 63], v.out_drops, __ATOMIC_RELAXED);
  }
  if (e.busy) __atomic_store_n(&e.busy->busy, 0, __ATOMIC_RELEASE);
  if (abandoned) __atomic_fetch_add(&site->dropped, abandoned, __ATOMIC_RELAXED);
  if (v.overridden) frame[10] = v.override_value; /* rax: user_regs_struct word 10 */
  return v.overridden;
}

/* PK_ACTION_OVERRIDE's sampling: is this call one of the per_million
 * overridden? The thread's own xorshift64* generator (no atomics, no
 * sharing between threads), seeded at its first use from its tid, its fs
 * base and the time, so threads and runs draw different sequences. */
static int override_chosen(struct pk_thread *t, uint64_t fsbase, uint32_t per_million) {
  if (per_million >= 1000000u) return 1;
  uint64_t x = t->rng;
  if (!x) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    x = slot_hash(fsbase ^ (((uint64_t)hi << 32) | lo), t->tid) | 1u;
  }
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  t->rng = x;
  const uint64_t r = (x * 0x2545f4914f6cdd1dull) >> 32; /* 32 uniform bits */
  return (uint32_t)((r * 1000000u) >> 32) < per_million;
}

/* Returns nonzero when the hit overrides the function's return (an
 * OVERRIDE site's sampled call): the frame's rax holds the value and the
 * entry trampoline returns to the caller instead of running the function.
 * fsbase: the hitting thread's; slot: its thread slot when the caller
 * already knows it (0: looked up here). */
static uint64_t site_hit(struct pk_control *c, uint64_t *frame, struct pk_site_rt *site, uint64_t fsbase,
                         struct pk_thread *slot) {
  if (site->action == PK_ACTION_DPROG) return dprog_hit(c, frame, site, fsbase, slot);
  uint64_t overridden = 0;
  const uint32_t cpu = current_cpu(c, fsbase);
  if (!c->threads_remote || c->restoring) goto lost;
  {
    struct hit h;
    h.c = c;
    h.frame = frame;
    h.rsp = (uint64_t)(uintptr_t)(frame + FRAME_WORDS) + RED_ZONE;
    h.rip = site->return_site ? frame[FRAME_WORDS] : site->address; /* pk_agent_ret_exit */
    h.fsbase = fsbase;
    h.pid = *(const volatile uint32_t *)(uintptr_t)c->identity;
    h.direct_lo = (uint64_t)(uintptr_t)frame;
    h.direct_hi = (h.rsp | 4095) + 1;
    struct pk_thread *t = slot ? slot : thread_slot(c, h.fsbase, h.pid);
    if (!t) goto lost;
    if (t->busy) {
      __atomic_fetch_add(&site->nested, 1, __ATOMIC_RELAXED);
      __atomic_fetch_add(&site->hits, 1, __ATOMIC_RELAXED); /* no record will count it */
      return 0;
    }
    if (site->action == PK_ACTION_OVERRIDE) {
      /* A call not chosen is a hit without a record; a chosen one returns
       * the value only if its record (the event probekit prints) fits. */
      if (!override_chosen(t, fsbase, site->override_per_million)) {
        __atomic_fetch_add(&site->hits, 1, __ATOMIC_RELAXED);
        return 0;
      }
      overridden = 1;
    }
    /* busy, then the time, then the time where probekit sees it: a drain
     * that finds the slot busy delivers nothing younger than pending_tsc
     * (stale or not, no later than this record's), one that finds it idle
     * took its own time before this record's: either way no record is
     * delivered before an older one (Agent::drain). */
    __atomic_store_n(&t->busy, 1, __ATOMIC_RELAXED);
    __asm__ volatile("" ::: "memory");
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    const uint64_t tsc = ((uint64_t)hi << 32) | lo;
    __atomic_store_n(&t->pending_tsc, tsc, __ATOMIC_RELAXED);
    __asm__ volatile("" ::: "memory");
    const struct pk_program *prog = (const struct pk_program *)((const uint8_t *)c + site->program);
    uint64_t head;
    struct pk_record *r = ring_claim(c, t, prog->max_record, &head);
    if (!r) goto full;
    if (overridden) frame[10] = (uint64_t)site->override_value; /* rax: user_regs_struct word 10 */
    {
      r->site = (uint32_t)(site - (struct pk_site_rt *)((uint8_t *)c + c->sites_offset));
      r->tsc = tsc;
      r->pid = t->pid;
      r->tid = t->tid;
      r->cpu = cpu;
      r->nitems = 0;
      __builtin_memcpy(r->comm, t->comm, sizeof r->comm); /* inlined: two moves */
      const uint32_t mask = prog->regs_mask;
      r->regs_mask = mask;
      uint64_t *w = (uint64_t *)(r + 1);
      for (uint32_t m = mask & 0x7fffu; m; m &= m - 1) *w++ = frame[__builtin_ctz(m)];
      if (mask & (1u << 15)) *w++ = h.rip;
      if (mask & (1u << 16)) *w++ = frame[FRAME_FLAGS];
      if (mask & (1u << 17)) *w++ = h.rsp;
      if (mask & (1u << 18)) *w++ = h.fsbase;
      uint8_t *at = (uint8_t *)w;
      uint32_t items = 0;
      for (uint32_t k = 0; k < prog->nreads; ++k) {
        const struct pk_read *rd = (const struct pk_read *)(prog + 1) + k;
        uint64_t v = rd->reg >= 0 ? reg_value(&h, rd->reg) : rd->immediate;
        const uint32_t n = rd->nderefs;
        int ok = 1;
        for (uint32_t d = 0; ok && d + 1 < n; ++d, ++items) ok = capture(&h, &at, v + (uint64_t)rd->derefs[d], 8, 0, &v);
        if (!ok) continue;
        const uint64_t addr = n ? v + (uint64_t)rd->derefs[n - 1] : v;
        if (rd->string) {
          capture(&h, &at, addr, PK_STRING_MAX, 1, 0);
          ++items;
        } else if (n) {
          capture(&h, &at, addr, rd->size, 0, 0);
          ++items;
        }
      }
      r->nitems = items;
      r->size = (uint32_t)(at - (uint8_t *)r);
      __atomic_store_n(&t->head, head + r->size, __ATOMIC_RELEASE);
    }
    __asm__ volatile("" ::: "memory");
    __atomic_store_n(&t->busy, 0, __ATOMIC_RELEASE);
    return overridden;
  full:
    __asm__ volatile("" ::: "memory");
    __atomic_store_n(&t->busy, 0, __ATOMIC_RELEASE);
  }
lost:
  __atomic_fetch_add(&site->dropped, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&site->hits, 1, __ATOMIC_RELAXED); /* no record will count it */
  __atomic_fetch_add(&c->cpu_drops[cpu & 63], 1, __ATOMIC_RELAXED);
  return 0;
}

PK_EXPORT uint64_t pk_agent_hit(uint64_t *frame, struct pk_site_rt *site) {
  struct pk_control *c = control();
  return site_hit(c, frame, site, read_fsbase(c), 0);
}

/* ---- return probes (agent_abi.h pk_shadow_area) ----
 * The one idea: kretprobes' return-address hijack, run by the thread
 * itself, with the return address replaced by a `call` from the entry
 * trampoline rather than by a store, so that the CPU's return stack
 * predicts both returns. Entry and return are paired by sp (the address of the return
 * address), so a frame left without returning (longjmp, an exception
 * nobody caught with __cxa_begin_catch) is recognised by its sp being
 * deeper than the current one and dropped, at the thread's next push or
 * pop. A thread is its fs base: unique among live threads of a process,
 * and the same in a fork child, whose private copy of the area holds its
 * parent's frames. */

/* How far below a new frame an older one may lie and still be on the same
 * stack (a thread's stack is at most this deep here). */
#define PK_SHADOW_SAME_STACK (8ull << 20)

static struct pk_shadow_area *shadow_area(void) { return (struct pk_shadow_area *)(uintptr_t)pk_agent_shadow; }

static struct pk_shadow_stack *shadow_of(struct pk_shadow_area *a, uint64_t fs, int claim) {
  const uint32_t mask = PK_SHADOW_THREADS - 1;
  if (!fs) fs = 1;
  uint32_t i = (uint32_t)slot_hash(fs, 0) & mask;
  for (uint32_t k = 0; k < PK_SHADOW_THREADS; ++k, i = (i + 1) & mask) {
    struct pk_shadow_stack *s = &a->stacks[i];
    uint64_t key = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
    if (key == fs) return s;
    if (key != 0) continue;
    if (!claim) return 0;
    uint64_t expected = 0;
    if (__atomic_compare_exchange_n(&s->key, &expected, fs, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      s->depth = 0;
      s->thread = 0;
      return s;
    }
    if (expected == fs) return s;
  }
  return 0;
}

/* The thread's slot in the record table (thread_slot), kept with its
 * shadow stack so that a return finds both with one lookup by fs base:
 * the kept one is checked as thread_slot checks a slot it finds (its key,
 * then its tid from the TCB or the process's pid), which also catches a
 * fork child's inherited copy of the stack (the child's thread has its own
 * slot) and a thread that reuses an exited one's stack. */
static struct pk_thread *shadow_thread(struct pk_control *c, struct pk_shadow_stack *s, uint64_t fs) {
  if (!c->threads_remote) return 0;
  const uint32_t pid = *(const volatile uint32_t *)(uintptr_t)c->identity;
  struct pk_thread *t = (struct pk_thread *)(uintptr_t)s->thread;
  if (t && __atomic_load_n(&t->key, __ATOMIC_ACQUIRE) == (fs ? fs : 1)) {
    const int by_tid = c->tid_offset && fs;
    const uint32_t self = by_tid ? *(const volatile uint32_t *)(uintptr_t)(fs + c->tid_offset) : 0;
    if (slot_owned(t, __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE), by_tid, self, pid)) return t;
  }
  t = thread_slot(c, fs, pid);
  s->thread = (uint64_t)(uintptr_t)t;
  return t;
}

/* The push of a return probe's entry (pk_agent_ret_entry,
 * pk_agent_hit_ret): s the thread's shadow stack (0: none free), frame as
 * for pk_agent_hit with [rsp] the return address, ret_site the return site
 * to fire when this call returns, rp the entry trampoline's return point.
 * Returns nonzero when the trampoline is to call the function's head (the
 * call puts rp into [sp]); 0 leaves [sp] as it is: no room, a nested
 * entry, or a tail call from a hijacked function, whose return point is
 * there already and fires this frame too. */
static uint64_t ret_push(struct pk_shadow_area *a, struct pk_shadow_stack *s, uint64_t *frame,
                         struct pk_site_rt *ret_site, uint64_t rp) {
  if (!s) {
    __atomic_fetch_add(&a->missed, 1, __ATOMIC_RELAXED);
    return 0;
  }
  if (s->busy) {
    ++s->missed;
    return 0;
  }
  __atomic_store_n(&s->busy, 1, __ATOMIC_RELAXED);
  __asm__ volatile("" ::: "memory");
  const uint64_t rsp = (uint64_t)(uintptr_t)(frame + FRAME_WORDS) + RED_ZONE;
  const uint64_t ret = *(volatile uint64_t *)(uintptr_t)rsp;
  uint32_t d = s->depth;
  if (d > PK_SHADOW_DEPTH) d = 0;
  /* Deeper frames of the same stack were left without returning. A frame
   * far below is on another stack (a signal handler's sigaltstack above
   * the thread's stack) and may be live: it stays, and goes at the pop of
   * a frame under it. Then a frame at this sp whose return point [sp]
   * holds: this is a tail call from that hijacked function (chained);
   * any other frame at this sp was left without returning too. */
  while (d && s->frames[d - 1].sp < rsp && rsp - s->frames[d - 1].sp <= PK_SHADOW_SAME_STACK) --d;
  const int chained = d && s->frames[d - 1].sp == rsp && s->frames[d - 1].rp == ret;
  while (d && ((s->frames[d - 1].sp < rsp && rsp - s->frames[d - 1].sp <= PK_SHADOW_SAME_STACK) ||
               (s->frames[d - 1].sp == rsp && !chained))) {
    --d;
  }
  uint64_t call = 0;
  if (d == PK_SHADOW_DEPTH) {
    s->depth = d;
    ++s->missed;
  } else {
    struct pk_shadow_frame *f = &s->frames[d];
    f->sp = rsp;
    f->orig = chained ? s->frames[d - 1].orig : ret;
    f->rp = chained ? ret : rp;
    f->site = (uint32_t)(ret_site - (struct pk_site_rt *)(uintptr_t)a->sites_remote);
    f->chained = (uint16_t)chained;
    f->unhooked = 0;
    s->depth = d + 1;
    call = !chained;
  }
  __asm__ volatile("" ::: "memory");
  __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
  return call;
}

/* The entry site's trampoline of a return probe alone: frame as for
 * pk_agent_hit, [rsp] the return address; see ret_push. */
PK_EXPORT uint64_t pk_agent_ret_entry(uint64_t *frame, struct pk_site_rt *ret_site, uint64_t rp) {
  struct pk_shadow_area *a = shadow_area();
  if (!a || !a->trampoline) return 0;
  return ret_push(a, shadow_of(a, read_fsbase(control()), 1), frame, ret_site, rp);
}

/* A return probe's entry that is also an entry probe's site (no override
 * there): one call runs the site's clauses and the push, with one fs base
 * read and one lookup of the shadow stack, whose kept thread slot the
 * clauses use (shadow_thread) instead of looking theirs up. */
PK_EXPORT uint64_t pk_agent_hit_ret(uint64_t *frame, struct pk_site_rt *site, struct pk_site_rt *ret_site,
                                    uint64_t rp) {
  struct pk_control *c = control();
  const uint64_t fs = read_fsbase(c);
  struct pk_shadow_area *a = shadow_area();
  struct pk_shadow_stack *s = a && a->trampoline ? shadow_of(a, fs, 1) : 0;
  (void)site_hit(c, frame, site, fs, s && !c->restoring ? shadow_thread(c, s, fs) : 0);
  if (!a || !a->trampoline) return 0;
  return ret_push(a, s, frame, ret_site, rp);
}

/* The return trampoline: frame as for pk_agent_hit with rsp as after the
 * real return (the `ret` popped a return point's address). Fires the
 * return sites of the frames at that sp (innermost first) and returns the
 * real return address (0: no frame; the trampoline then runs ud2). */
PK_EXPORT uint64_t pk_agent_ret_exit(uint64_t *frame) {
  struct pk_shadow_area *a = shadow_area();
  struct pk_control *c = control();
  const uint64_t sp = (uint64_t)(uintptr_t)(frame + FRAME_WORDS) + RED_ZONE - 8;
  const uint64_t fs = read_fsbase(c);
  struct pk_shadow_stack *s = a ? shadow_of(a, fs, 0) : 0;
  if (!s) goto lost;
  {
    uint32_t d = s->depth;
    if (d > PK_SHADOW_DEPTH) d = 0;
    /* The newest frame of this sp: every frame pushed after it belongs to
     * a call made while it ran, which is over now that it returns (or was
     * left by longjmp or an exception), wherever its stack was. */
    uint32_t k = d;
    while (k && s->frames[k - 1].sp != sp) --k;
    if (!k) goto lost; /* not ours: leave the stack as it is */
    d = k;
    const uint64_t orig = s->frames[d - 1].orig;
    frame[FRAME_WORDS] = orig; /* the records' rip (pk_agent_hit) */
    struct pk_site_rt *sites = (struct pk_site_rt *)(uintptr_t)a->sites_remote;
    struct pk_thread *t = c->restoring ? 0 : shadow_thread(c, s, fs); /* one lookup for every frame's clauses */
    while (d && s->frames[d - 1].sp == sp) {
      struct pk_site_rt *site = &sites[s->frames[d - 1].site];
      s->depth = --d;
      site_hit(c, frame, site, fs, t);
    }
    return orig;
  }
lost:
  if (a) __atomic_fetch_add(&a->lost, 1, __ATOMIC_RELAXED);
  return 0;
}

/* _Unwind_RaiseException and friends (entry): the unwinder reads return
 * addresses and has no unwind information for the trampoline, so the
 * thread's live frames get their real addresses back; they stay on the
 * stack, marked, until the catch says which frames survived. */
PK_EXPORT void pk_agent_ret_unwind(uint64_t *frame, struct pk_site_rt *unused) {
  (void)unused;
  struct pk_shadow_area *a = shadow_area();
  if (!a) return;
  const uint64_t rsp = (uint64_t)(uintptr_t)(frame + FRAME_WORDS) + RED_ZONE;
  struct pk_shadow_stack *s = shadow_of(a, read_fsbase(control()), 0);
  if (!s) return;
  __atomic_fetch_add(&a->unwinds, 1, __ATOMIC_RELAXED);
  const uint32_t d = s->depth <= PK_SHADOW_DEPTH ? s->depth : 0;
  for (uint32_t i = 0; i < d; ++i) {
    struct pk_shadow_frame *f = &s->frames[i];
    if (f->sp < rsp || f->unhooked) continue;
    volatile uint64_t *slot = (volatile uint64_t *)(uintptr_t)f->sp;
    if (*slot == f->rp) *slot = f->orig;
    f->unhooked = 1;
  }
}

/* __cxa_begin_catch (entry), called by the catching frame: the frames at
 * or below its return address were unwound (dropped: their calls never
 * return); the catching frame and its callers are hooked again. */
PK_EXPORT void pk_agent_ret_catch(uint64_t *frame, struct pk_site_rt *unused) {
  (void)unused;
  struct pk_shadow_area *a = shadow_area();
  if (!a) return;
  const uint64_t rsp = (uint64_t)(uintptr_t)(frame + FRAME_WORDS) + RED_ZONE;
  struct pk_shadow_stack *s = shadow_of(a, read_fsbase(control()), 0);
  if (!s) return;
  uint32_t d = s->depth <= PK_SHADOW_DEPTH ? s->depth : 0;
  while (d && s->frames[d - 1].sp <= rsp) {
    --d;
    ++s->missed;
  }
  s->depth = d;
  for (uint32_t i = 0; i < d; ++i) {
    struct pk_shadow_frame *f = &s->frames[i];
    if (!f->unhooked) continue;
    volatile uint64_t *slot = (volatile uint64_t *)(uintptr_t)f->sp;
    if (*slot == f->orig) *slot = f->rp;
    if (*slot == f->orig || *slot == f->rp) f->unhooked = 0;
  }
}
