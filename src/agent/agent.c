/* agent/agent.c — the code probekit injects into a traced process.
 *
 * Freestanding: no libc, no TLS, no allocation, no relocations other than
 * R_X86_64_RELATIVE, no imported symbol (tests/unit/agent checks the built
 * object). It is built -mgeneral-regs-only, so it never touches a vector
 * register: the program's xmm/ymm/zmm state is never saved or disturbed,
 * in a signal handler or, later, in handlers called from trampolines.
 *
 * Counting needs no code here: a counting trampoline adds 1 to its
 * site's counter in the data area itself (engine/jump_backend.cpp). The
 * agent's code is the orphan guard:
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

#define PK_EXPORT __attribute__((visibility("default")))

/* The data area's address in the target, written by probekit when it
 * loads the image (the agent only reads it). */
PK_EXPORT volatile uint64_t pk_agent_data = 0;

/* The ABI version this image was built for (probekit refuses a mismatch). */
PK_EXPORT const uint32_t pk_agent_abi_version = PK_AGENT_ABI_VERSION;

/* ---- raw system calls ---- */

static long sys3(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
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
  NR_tgkill = 234, NR_openat = 257, NR_pwrite64 = 18,
  AT_FDCWD_ = -100, O_RDWR_ = 2, O_CLOEXEC_ = 02000000,
  SIGTRAP_ = 5, SI_KERNEL_ = 0x80, SI_SIGIO_ = -5, POLL_HUP_ = 6,
  SA_SIGINFO_ = 4, SA_RESTORER_ = 0x04000000,
  /* ucontext_t: uc_flags, uc_link, uc_stack (24 bytes), then gregs[REG_RIP = 16] */
  UC_RIP_OFFSET = 8 + 8 + 24 + 16 * 8,
};
#define SIG_DFL_ 0ull
#define SIG_IGN_ 1ull

/* The sigreturn trampoline for our SIGTRAP action. */
__asm__(".text\n.globl pk_agent_restorer\n.type pk_agent_restorer,@function\n"
        "pk_agent_restorer:\n  mov $15, %eax\n  syscall\n  hlt\n"
        ".size pk_agent_restorer, .-pk_agent_restorer\n");

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
    for (uint32_t i = 0; i < n; ++i) {
      if (p[i].armed && p[i].length > 1) poke(fd, p[i].address, &int3, 1);
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (p[i].armed && p[i].length > 1) poke(fd, p[i].address + 1, p[i].original + 1, p[i].length - 1);
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (p[i].armed) poke(fd, p[i].address, p[i].original, 1);
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

typedef void (*pk_sigaction_fn)(int, void *, void *);
typedef void (*pk_handler_fn)(int);

PK_EXPORT void pk_agent_sigtrap(int sig, void *info, void *uc) {
  struct pk_control *c = control();
  const int code = *(const int *)((const uint8_t *)info + 8);
  const int fd = *(const int *)((const uint8_t *)info + 24);
  uint64_t *rip = (uint64_t *)((uint8_t *)uc + UC_RIP_OFFSET);
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
