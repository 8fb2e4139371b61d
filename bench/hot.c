/* bench/hot.c — the program the per-hit benchmark traces.
 *
 * usage: hot FUNCTION CALLS
 * Calls FUNCTION CALLS times in a tight loop. The functions are written in
 * assembly so their first instruction is fixed whatever the compiler does:
 *   emulated: push rbp            -> emulated in the tracer
 *   boosted:  lea rax,[rdi+1]     -> copy run out of line, jump back
 *   riprel:   mov rax,[rip+x]     -> copy with its displacement adjusted
 * The unprobed run of the same binary is the baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long hot_emulated(long);
long hot_boosted(long);
long hot_riprel(long);
long hot_value = 1;

__asm__(".text\n"
        ".globl hot_emulated\n.type hot_emulated,@function\n"
        "hot_emulated:\n push %rbp\n mov %rsp,%rbp\n lea 1(%rdi),%rax\n pop %rbp\n ret\n"
        ".size hot_emulated, .-hot_emulated\n"
        ".globl hot_boosted\n.type hot_boosted,@function\n"
        "hot_boosted:\n lea 1(%rdi),%rax\n ret\n"
        ".size hot_boosted, .-hot_boosted\n"
        ".globl hot_riprel\n.type hot_riprel,@function\n"
        "hot_riprel:\n mov hot_value(%rip),%rax\n add %rdi,%rax\n ret\n"
        ".size hot_riprel, .-hot_riprel\n");

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: hot emulated|boosted|riprel CALLS\n");
    return 2;
  }
  long (*fn)(long) = strcmp(argv[1], "emulated") == 0 ? hot_emulated
                     : strcmp(argv[1], "boosted") == 0 ? hot_boosted
                                                         : hot_riprel;
  long n = atol(argv[2]);
  long s = 0;
  for (long i = 0; i < n; i++) s += fn(i);
  printf("%ld\n", s);
  return 0;
}
