// pk_args: functions whose arguments are read by name and type from DWARF —
// eight integers (two on the stack), a string, floats and doubles (SSE
// registers), mixed. noipa keeps -O2 from cloning or inlining them, so at
// their entry the System V locations hold. `pk_args N` calls each N times and
// prints what it computed (the output must not change under tracing).
#include <stdio.h>
#include <stdlib.h>

__attribute__((noipa)) long eight(int a, long b, short c, unsigned char d, int e, long f, int g, long h) {
  return a + b + c + d + e + f + g + h;
}

__attribute__((noipa)) int process(int id, const char* name, double ratio) {
  return id + (int)(ratio * 10) + (name[0] == 'w');
}

__attribute__((noipa)) double mix(float f, double d, int n, double e) { return f * d + n + e; }

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 1;
  volatile int neg = -1;
  long sum = 0;
  double total = 0;
  for (int i = 0; i < rounds; ++i) {
    sum += eight(neg, -2, -3, 200, 5, 6, -7, 8000000000L + i);
    sum += process(42 + i, "widget", 2.5);
    total += mix(0.5f, -1.25, i, 1e10);
  }
  printf("sum %ld total %.3f\n", sum, total);
  return 0;
}
