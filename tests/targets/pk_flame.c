// A CPU-bound program with known call chains, for flame graphs and
// timelines: main -> middle -> leaf_a (which spins in mix(), inlined into
// it) and main -> middle -> via() (inlined into middle) -> leaf_b.
// usage: pk_flame ROUNDS [SPIN]: middle() runs ROUNDS times, each leaf_a
// spinning SPIN iterations (default 200000); prints the checksum.
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

static inline __attribute__((always_inline)) unsigned long mix(unsigned long x, long spin) {
  for (long i = 0; i < spin; i++) x = x * 6364136223846793005ul + 1442695040888963407ul;
  return x;
}

__attribute__((noinline, noipa)) unsigned long leaf_a(unsigned long x, long spin) {
  unsigned long r = mix(x, spin);
  sink = r;
  return r;
}

__attribute__((noinline, noipa)) unsigned long leaf_b(unsigned long x) {
  sink = x ^ 0x5a5a;
  return x ^ 0x5a5a;
}

static inline __attribute__((always_inline)) unsigned long via(unsigned long x) {
  unsigned long r = leaf_b(x);
  sink = r;  // keeps the call inside via()'s inlined code
  return r + 1;
}

__attribute__((noinline, noipa)) unsigned long middle(unsigned long x, long spin) {
  unsigned long r = leaf_a(x, spin);
  r += via(r);
  sink = r;
  return r;
}

int main(int argc, char** argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 10;
  long spin = argc > 2 ? atol(argv[2]) : 200000;
  unsigned long x = 1;
  for (long i = 0; i < rounds; i++) x = middle(x, spin);
  printf("checksum %lu\n", x);
  return 0;
}
