// pk_hop: functions whose first 5 bytes a jmp cannot replace, but a 2-byte
// jmp to a hop in the alignment padding nearby can. hop_alias enters
// hop_target at its second instruction, as glibc's __mempcpy_* enters
// __memcpy_*+3; hop_short is 4 bytes long. usage: pk_hop N (N rounds, then
// the sums), or pk_hop spin (calls them for ever, printing a line every
// 20 ms, for attach/detach tests).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long hop_alias(long, long);
long hop_target(long);
long hop_short(long);

asm(".text\n"
    ".p2align 5\n"
    ".globl hop_alias\n.type hop_alias,@function\nhop_alias:\n"
    "  mov %rdi, %rax\n"
    "  add %rsi, %rax\n"
    "  jmp hop_target_second\n"
    ".size hop_alias, .-hop_alias\n"
    ".p2align 5\n"
    ".globl hop_target\n.type hop_target,@function\nhop_target:\n"
    "  mov %rdi, %rax\n"
    "hop_target_second:\n"
    "  add $1, %rax\n"
    "  ret\n"
    ".size hop_target, .-hop_target\n"
    ".p2align 5\n"
    ".globl hop_short\n.type hop_short,@function\nhop_short:\n"
    "  lea 2(%rdi), %eax\n"  // 3 bytes, then ret: 4 in all
    "  ret\n"
    ".size hop_short, .-hop_short\n"
    ".p2align 5\n");

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "spin") == 0) {
    volatile long s = 0;
    for (long i = 0;; i++) {
      for (int k = 0; k < 1000; ++k) s += hop_target(k) + hop_alias(k, 1) + hop_short(k);
      if (i % 20 == 0) {
        printf("line %ld\n", i / 20);
        fflush(stdout);
      }
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
  }
  long n = argc > 1 ? atol(argv[1]) : 10;
  long t = 0, a = 0, s = 0;
  for (long i = 0; i < n; i++) {
    t += hop_target(i);
    a += hop_alias(i, 2);
    s += hop_short(i);
  }
  printf("target %ld alias %ld short %ld\n", t, a, s);
  return 0;
}
