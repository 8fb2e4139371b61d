/* bench/floor.c — the floor under a D clause's cost on this machine.
 *
 * usage: floor [ITERATIONS]
 * Prints the CPU time (CLOCK_THREAD_CPUTIME_ID) per iteration of loops
 * that each add one thing the agent does at a hit: a call of a noinline
 * function (the loop itself), one `rdtsc`, one `rdtsc` and the agent's
 * scaling to ns (pk_dvm_timestamp: a 64x64->128 multiply and a shift),
 * `rdtscp`, and two `rdtsc` (an entry + return latency clause reads the
 * clock twice per call). The loop's own cost is subtracted from the rows
 * below it. Best of 5 rounds each. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

static volatile uint64_t sink;
static uint64_t mult = 0x5555555555ull, base_tsc = 12345, base_ns = 678;
static unsigned shift = 32;

__attribute__((noipa)) uint64_t nothing(uint64_t a) { return a + 1; }
__attribute__((noipa)) uint64_t tsc(uint64_t a) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return a + (((uint64_t)hi << 32) | lo);
}
__attribute__((noipa)) uint64_t tsc_scaled(uint64_t a) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  const uint64_t d = (((uint64_t)hi << 32) | lo) - base_tsc;
  return a + base_ns + (uint64_t)(((unsigned __int128)d * mult) >> shift);
}
__attribute__((noipa)) uint64_t tscp(uint64_t a) {
  unsigned aux;
  return a + __rdtscp(&aux);
}
__attribute__((noipa)) uint64_t tsc2(uint64_t a) { return tsc_scaled(tsc_scaled(a)); }

static double cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double best(uint64_t (*f)(uint64_t), long n) {
  double b = 1e30;
  for (int round = 0; round < 5; ++round) {
    uint64_t s = 0;
    const double t0 = cpu_ns();
    for (long i = 0; i < n; ++i) s = f(s);
    const double t = (cpu_ns() - t0) / (double)n;
    sink = s;
    if (t < b) b = t;
  }
  return b;
}

int main(int argc, char **argv) {
  const long n = argc > 1 ? atol(argv[1]) : 2000000;
  const double loop = best(nothing, n);
  printf("call of a noinline function: %.1f ns/iteration\n", loop);
  printf("rdtsc:                       %.1f ns above it\n", best(tsc, n) - loop);
  printf("rdtsc + scaling to ns:       %.1f ns above it\n", best(tsc_scaled, n) - loop);
  printf("rdtscp:                      %.1f ns above it\n", best(tscp, n) - loop);
  printf("2 x (rdtsc + scaling):       %.1f ns above it\n", best(tsc2, n) - loop);
  return 0;
}
