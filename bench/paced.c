/* bench/paced.c — the cost of a probe hit that writes a record.
 *
 * usage: paced CALLS [GAP_NS]
 * Calls paced_hit(i, 2*i, NAME) CALLS times (NAME one of four short
 * strings in turn, for D's copyinstr(arg2) rows), GAP_NS of busy work apart (default
 * 2000), and prints the mean TSC time of the calls alone, in ns. The gap
 * lets the consumer (probekit formatting each record, bpftrace's printf)
 * keep up, so that every hit really writes its record instead of taking
 * the cheaper path of a full buffer; timing only the calls keeps the gap's
 * own noise out of the figure; the first call (which sets up the thread's
 * buffer) is not counted. Traced minus untraced is the cost of a hit. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

__attribute__((noipa)) long paced_hit(long a, long b, const char *name) {
  (void)name;
  return a + b;
}

static const char *const names[4] = {"alpha", "beta", "gamma", "delta"};

static unsigned long long ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  long gap = argc > 2 ? atol(argv[2]) : 2000;
  unsigned aux;
  struct timespec c0, c1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  unsigned long long t_start = __rdtscp(&aux), n_start = ns();
  unsigned long long ticks = 0;
  long s = 0;
  for (long i = 0; i < n; i++) {
    unsigned long long t0 = __rdtscp(&aux);
    s += paced_hit(i, 2 * i, names[i & 3]);
    unsigned long long t1 = __rdtscp(&aux);
    if (i > 0) ticks += t1 - t0; /* the first hit sets up the thread's buffer */
    unsigned long long until = ns() + (unsigned long long)gap;
    while (ns() < until) {
    }
  }
  double tick_ns = (double)(ns() - n_start) / (double)(__rdtscp(&aux) - t_start);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  printf("%.1f ns/call (sum %ld)\n", n > 1 ? (double)ticks * tick_ns / (double)(n - 1) : 0.0, s);
  /* The whole loop's CPU time per call (the gap and the timing included):
   * traced minus untraced is the cost of a hit even on a loaded machine,
   * where the wall time of the calls also holds the time others ran. */
  printf("%.1f cpu-ns/loop\n", n > 0 ? ((double)(c1.tv_sec - c0.tv_sec) * 1e9 + (double)(c1.tv_nsec - c0.tv_nsec)) / (double)n : 0.0);
  return 0;
}
