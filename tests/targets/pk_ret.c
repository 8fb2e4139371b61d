// Return probes: recursion, several return paths, tail calls, longjmp,
// threads, fork inside a probed function, error injection, a jump table,
// deep recursion (detach in the middle of it).
// usage: pk_ret MODE [N] (deep: pk_ret deep N [DEPTH])
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noipa)) long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

// Several return paths with distinct values.
__attribute__((noipa)) long classify(long x) {
  if (x < 0) return -1;
  if (x == 0) return 100;
  if (x % 2) return 200 + x;
  return 300 + x;
}

// Tail calls: at -O2 tail_a and tail_b end in `jmp leaf`.
__attribute__((noipa)) long leaf(long x) { return x * 10; }
__attribute__((noipa)) long tail_b(long x) { return leaf(x + 2); }
__attribute__((noipa)) long tail_a(long x) { return tail_b(x + 1); }

// The wrapper of issue 9: at -O2 `lea 1(%rdi),%rdi; jmp impl`, so a return
// probe on wrapper must wait for impl's ret to see the value.
__attribute__((noipa)) long impl(long x) { return x * 3 - 100; }
__attribute__((noipa)) long wrapper(long x) { return impl(x + 1); }

// Calls wrapper with a `lock`-prefixed instruction at the return address:
// no probe can go there (uprobes refuses lock prefixes), so a return through
// wrapper's tail call cannot land there and hijacks that one call instead.
__attribute__((noipa)) long locked_caller(long x) {
  long r;
  __asm__ volatile("call wrapper\n\tlock orq $0, (%%rsp)"
                   : "=a"(r), "+D"(x)
                   :
                   : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc");
  return r;
}

// longjmp out of several probed frames.
static jmp_buf jb;
__attribute__((noipa)) long dive(long n) {
  if (n == 0) longjmp(jb, 1);
  long r = dive(n - 1);
  __asm__ volatile("" ::: "memory");  // not a tail call
  return r + n;
}

// A switch dense enough for a jump table (an indirect jmp); the volatile
// read keeps GCC from folding it into a table of constants.
static volatile long bias = 1;
__attribute__((noipa)) long sw(long x) {
  switch (x) {
    case 0: return bias + 11;
    case 1: return bias * 7;
    case 2: return bias ^ 0x55;
    case 3: return bias - 4;
    case 4: return bias << 3;
    case 5: return bias / 3 + 9;
    case 6: return ~bias;
    case 7: return bias * bias + x;
    default: return 0;
  }
}

// At -O2 the x < 0 path goes to coldret.cold (a separate symbol) and
// returns from there.
__attribute__((cold, noinline)) void report_negative(long x) { printf("negative %ld\n", x); }
__attribute__((noipa)) long coldret(long x) {
  if (x < 0) {
    report_negative(x);
    return -7;
  }
  return x + 1;
}

// Error injection target: returns 0 unless told otherwise.
__attribute__((noipa)) int open_config(const char* path) { return path[0] == '/' ? 0 : -2; }

// Error injection under threads (fail N, raise N): try_op never fails by
// itself; the program counts the failures it sees, and the signals its
// handler gets on the thread that was calling signal_point.
__attribute__((noipa)) long try_op(long x) { return x & 7; }
__attribute__((noipa)) long signal_point(long x) { return x + 1; }
static __thread volatile int in_signal_point;
static volatile long signals_seen, signals_on_caller;
static void on_usr1(int sig) {
  (void)sig;
  __atomic_add_fetch(&signals_seen, 1, __ATOMIC_SEQ_CST);
  if (in_signal_point) __atomic_add_fetch(&signals_on_caller, 1, __ATOMIC_SEQ_CST);
}

__attribute__((noipa)) long forker(long x) {
  pid_t p = fork();
  return p == 0 ? 1000 + x : x;
}

__attribute__((noipa)) long slow(long x) {
  usleep(1000);
  return x * 2;
}

// Deep recursion that sleeps at the bottom: a detach finds every frame
// of the recursion live (hijacked, under a return probe).
__attribute__((noipa)) long deep(long d) {
  if (d == 0) {
    usleep(2000);
    return 1;
  }
  long r = deep(d - 1);
  __asm__ volatile("" ::: "memory");  // not a tail call
  return r + d;
}

// Eight integer arguments: g and h are on the stack, read at [rsp+8] and
// [rsp+16] from the entry, where a return probe's entry trampoline puts
// its return point in place of the caller's.
__attribute__((noipa)) long many(long a, long b, long c, long d, long e, long f, long g, long h) {
  return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 1000 * g + 100000 * h;
}

// Return probes at the exits (jump mode): written in assembly so that the
// bytes before each ret are known. several() has two rets, each after at
// least 4 bytes of plain instructions that no branch enters but at their
// first (the second path's first instruction is the js target), so both
// exits take a jmp. mixed()'s second ret has only `xor eax,eax` before it
// and the first path's ret before that: no window, so the whole function
// keeps the hijack. rdepth() recurses and leaves by `mov -8(%rbp),%rbx;
// leave; ret`, the window starting just after the jle's target.
__asm__(".text\n"
        ".globl several\n.type several,@function\n"
        "several:\n"
        "  push %rbx\n"
        "  mov %rdi,%rbx\n"
        "  test %rdi,%rdi\n"
        "  js 1f\n"
        "  lea 100(%rbx),%rax\n"
        "  pop %rbx\n"
        "  ret\n"
        "1:\n"
        "  mov $-1,%rax\n"
        "  pop %rbx\n"
        "  ret\n"
        ".size several,.-several\n"
        ".globl mixed\n.type mixed,@function\n"
        "mixed:\n"
        "  test %rdi,%rdi\n"
        "  js 1f\n"
        "  lea (%rdi,%rdi),%rax\n"
        "  ret\n"
        "1:\n"
        "  xor %eax,%eax\n"
        "  ret\n"
        ".size mixed,.-mixed\n"
        ".globl rdepth\n.type rdepth,@function\n"
        "rdepth:\n"
        "  push %rbp\n"
        "  mov %rsp,%rbp\n"
        "  push %rbx\n"
        "  sub $8,%rsp\n"
        "  mov %rdi,%rbx\n"
        "  xor %eax,%eax\n"
        "  test %rdi,%rdi\n"
        "  jle 1f\n"
        "  lea -1(%rdi),%rdi\n"
        "  call rdepth\n"
        "  add %rbx,%rax\n"
        "1:\n"
        "  nop\n"
        "  mov -8(%rbp),%rbx\n"
        "  leave\n"
        "  ret\n"
        ".size rdepth,.-rdepth\n");
long several(long x);
long mixed(long x);
long rdepth(long n);

static long iterations = 1;
static void* exits_main(void* arg) {
  long id = (long)arg, s = 0;
  for (long i = 0; i < iterations; i++) {
    const long x = (i % 5 == 0 ? -i : i) + id;
    s += several(x) + mixed(x) + rdepth((i + id) % 6);
  }
  return (void*)s;
}
static void* thread_main(void* arg) {
  long id = (long)arg, s = 0;
  for (long i = 0; i < iterations; i++) s += fib(10 + id);
  return (void*)s;
}

static void* fail_main(void* arg) {
  long failures = 0;
  for (long i = 0; i < iterations; i++) failures += try_op(i + (long)arg) < 0;
  return (void*)failures;
}

static void* raise_main(void* arg) {
  long s = 0;
  for (long i = 0; i < iterations; i++) {
    in_signal_point = 1;
    s += signal_point(i + (long)arg);
    in_signal_point = 0;
  }
  return (void*)s;
}

static void* slow_main(void* arg) {
  long s = 0;
  for (long i = 0; i < iterations; i++) s += slow(i + (long)arg);
  return (void*)s;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "fib";
  long n = argc > 2 ? atol(argv[2]) : 10;
  if (strcmp(mode, "fib") == 0) {
    printf("fib %ld = %ld\n", n, fib(n));
  } else if (strcmp(mode, "paths") == 0) {
    long s = 0;
    for (long x = -1; x < 5; x++) s += classify(x);
    printf("paths %ld\n", s);
  } else if (strcmp(mode, "tail") == 0) {
    long s = 0;
    for (long i = 0; i < n; i++) s += tail_a(i);
    printf("tail %ld\n", s);
  } else if (strcmp(mode, "wrap") == 0) {
    long s = 0;
    for (long i = 0; i < n; i++) s += wrapper(i * 7);
    printf("wrap %ld\n", s);
  } else if (strcmp(mode, "wraplock") == 0) {
    long s = 0;
    for (long i = 0; i < n; i++) s += locked_caller(i * 7);
    printf("wraplock %ld\n", s);
  } else if (strcmp(mode, "strtol") == 0) {
    // libc's strtol is `jmp` into its internal worker (a tail call).
    static const char* const inputs[] = {"42", "-17", "0x7fff", "1000000", "0"};
    long s = 0;
    for (int i = 0; i < 5; i++) s += strtol(inputs[i], NULL, 0);
    printf("strtol %ld\n", s);
  } else if (strcmp(mode, "longjmp") == 0) {
    int jumps = 0;
    for (long i = 0; i < n; i++) {
      if (setjmp(jb) == 0) {
        dive(4);
      } else {
        jumps++;
      }
    }
    printf("jumps %d fib %ld\n", jumps, fib(6));
  } else if (strcmp(mode, "cold") == 0) {
    long s = coldret(-2) + coldret(3) + coldret(-1) + coldret(5);
    printf("cold %ld\n", s);
  } else if (strcmp(mode, "switch") == 0) {
    long s = 0;
    for (long i = 0; i < 9; i++) s += sw(i);
    printf("switch %ld\n", s);
  } else if (strcmp(mode, "override") == 0) {
    int rc = open_config("/etc/app.conf");
    if (rc != 0) {
      printf("error path: open_config returned %d\n", rc);
      return 3;
    }
    printf("config ok\n");
  } else if (strcmp(mode, "deep") == 0) {
    long s = 0;
    long depth = argc > 3 ? atol(argv[3]) : 40;
    for (long i = 0; i < n; i++) s += deep(depth) + i;
    printf("deep %ld\n", s);
  } else if (strcmp(mode, "stackargs") == 0) {
    long s = 0;
    for (long i = 0; i < n; i++) s += many(i, 1, 2, 3, 4, 5, i + 6, i + 7);
    printf("stackargs %ld\n", s);
  } else if (strcmp(mode, "forkself") == 0) {
    // A return before the fork: the agent keeps the thread's slot with
    // its shadow stack, which the child inherits and must not use.
    long a = fib(3);
    long r = forker(3);
    if (r >= 1000) {
      printf("child %ld fib %ld\n", r, fib(4));
      fflush(stdout);
      _exit(0);
    }
    int st = 0;
    waitpid(-1, &st, 0);
    printf("parent %ld fib %ld status %d\n", r, a, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  } else if (strcmp(mode, "fork") == 0) {
    long r = forker(3);
    if (r >= 1000) {
      printf("child %ld fib %ld\n", r, fib(8));
      fflush(stdout);
      _exit(0);
    }
    int st = 0;
    waitpid(-1, &st, 0);
    printf("parent %ld fib %ld status %d\n", r, fib(8), WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  } else if (strcmp(mode, "fail") == 0 || strcmp(mode, "raise") == 0) {
    iterations = n;
    int is_raise = strcmp(mode, "raise") == 0;
    if (is_raise) signal(SIGUSR1, on_usr1);
    pthread_t th[4];
    for (long i = 0; i < 4; i++) pthread_create(&th[i], NULL, is_raise ? raise_main : fail_main, (void*)i);
    long total = 0;
    for (int i = 0; i < 4; i++) {
      void* r;
      pthread_join(th[i], &r);
      total += (long)r;
    }
    if (is_raise)
      printf("raise: %ld calls, sum %ld, %ld signals, %ld on the calling thread\n", 4 * n, total, signals_seen,
             signals_on_caller);
    else
      printf("fail: %ld of %ld calls failed\n", total, 4 * n);
  } else if (strcmp(mode, "exits") == 0) {
    // Four threads through several(), mixed() and rdepth() (exits N).
    iterations = n;
    pthread_t th[4];
    for (long i = 0; i < 4; i++) pthread_create(&th[i], NULL, exits_main, (void*)i);
    long total = 0;
    for (int i = 0; i < 4; i++) {
      void* r;
      pthread_join(th[i], &r);
      total += (long)r;
    }
    printf("exits total %ld\n", total);
  } else if (strcmp(mode, "threads") == 0 || strcmp(mode, "slow") == 0) {
    iterations = n;
    pthread_t th[4];
    int is_slow = strcmp(mode, "slow") == 0;
    for (long i = 0; i < 4; i++) pthread_create(&th[i], NULL, is_slow ? slow_main : thread_main, (void*)i);
    long total = 0;
    for (int i = 0; i < 4; i++) {
      void* r;
      pthread_join(th[i], &r);
      total += (long)r;
    }
    printf("%s total %ld\n", mode, total);
  }
  return 0;
}
