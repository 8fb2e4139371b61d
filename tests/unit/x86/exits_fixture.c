/* Compiled at -O2 into x86_test: a function with several returns, a tail
 * call and a .cold part (the unlikely branch calls a cold function, so gcc
 * moves it to pk_fx_exits.cold in .text.unlikely). exits_test.cpp decodes
 * these functions from the test's own memory. */
volatile int pk_fx_sink;

__attribute__((noinline)) int pk_fx_callee(int x) {
  pk_fx_sink += x;
  return x * 3;
}

__attribute__((noinline, cold)) void pk_fx_report(int x) { pk_fx_sink = -x; }

__attribute__((noinline)) int pk_fx_exits(int x) {
  if (__builtin_expect(x < 0, 0)) {
    pk_fx_report(x);
    pk_fx_report(x + 1);
    return -1;
  }
  if (x == 0) return 7;
  if (x > 100) return pk_fx_callee(x - 1);
  int s = 0;
  for (int i = 0; i < x; ++i) s += i * pk_fx_sink;
  return s;
}

/* A dense switch: gcc -O2 emits a jump table, i.e. an indirect jmp that stays
 * inside the function. */
__attribute__((noinline)) int pk_fx_switch(int x) {
  switch (x) {
    case 0: return pk_fx_sink + 11;
    case 1: return pk_fx_sink * 13;
    case 2: return pk_fx_sink - 17;
    case 3: return pk_fx_sink ^ 19;
    case 4: return pk_fx_sink | 23;
    case 5: return pk_fx_sink << 2;
    case 6: return pk_fx_callee(x);
    default: return 0;
  }
}
