// Functions whose first instruction is of a given kind (written in asm so
// the compiler cannot change it), called a known number of times. The
// engine tests probe them at their entry and at offsets inside them and
// compare stdout with an untraced run.
// usage: pk_insns ROUNDS
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

long g_value = 41;
double g_double = 2.5;
long g_store;

asm(".text\n"
    // rip-relative load
    ".globl f_riprel\n.type f_riprel,@function\nf_riprel:\n"
    "  mov g_value(%rip), %rax\n"          // +0 (7 bytes)
    "  add %rdi, %rax\n"                    // +7
    "  ret\n"
    ".size f_riprel, .-f_riprel\n"
    // lea
    ".globl f_lea\n.type f_lea,@function\nf_lea:\n"
    "  lea g_value(%rip), %rax\n"           // +0
    "  mov (%rax), %rax\n"                  // +7
    "  sub %rdi, %rax\n"
    "  ret\n"
    ".size f_lea, .-f_lea\n"
    // cmp with rip-relative memory, then jcc at +8
    ".globl f_cmp\n.type f_cmp,@function\nf_cmp:\n"
    "  cmpq $41, g_value(%rip)\n"           // +0 (8 bytes)
    "  jne 1f\n"                            // +8
    "  lea 100(%rdi), %rax\n"
    "  ret\n"
    "1: xor %eax, %eax\n"
    "  ret\n"
    ".size f_cmp, .-f_cmp\n"
    // jmp
    ".globl f_jmp\n.type f_jmp,@function\nf_jmp:\n"
    "  jmp 1f\n"                            // +0
    "  ud2\n"
    "1: lea 7(%rdi), %rax\n"                // +4
    "  ret\n"
    ".size f_jmp, .-f_jmp\n"
    // call
    ".globl f_call\n.type f_call,@function\nf_call:\n"
    "  call f_helper\n"                     // +0
    "  add $1, %rax\n"                      // +5
    "  ret\n"
    ".size f_call, .-f_call\n"
    ".globl f_helper\n.type f_helper,@function\nf_helper:\n"
    "  imul $3, %rdi, %rax\n"
    "  ret\n"
    ".size f_helper, .-f_helper\n"
    // push
    ".globl f_push\n.type f_push,@function\nf_push:\n"
    "  push %rbx\n"                         // +0
    "  mov %rdi, %rbx\n"                    // +1
    "  lea (%rbx,%rbx,4), %rax\n"           // +4
    "  pop %rbx\n"
    "  ret\n"
    ".size f_push, .-f_push\n"
    // jcc first: both paths give the same result, whatever the caller's flags
    ".globl f_jcc\n.type f_jcc,@function\nf_jcc:\n"
    "  js 1f\n"                             // +0
    "  lea 3(%rdi), %rax\n"
    "  ret\n"
    "1: lea 3(%rdi), %rax\n"
    "  ret\n"
    ".size f_jcc, .-f_jcc\n"
    // SSE with rip-relative memory
    ".globl f_sse\n.type f_sse,@function\nf_sse:\n"
    "  movsd g_double(%rip), %xmm0\n"       // +0 (8 bytes)
    "  cvtsi2sd %rdi, %xmm1\n"              // +8
    "  addsd %xmm1, %xmm0\n"
    "  cvttsd2si %xmm0, %rax\n"
    "  ret\n"
    ".size f_sse, .-f_sse\n"
    // ret first
    ".globl f_ret\n.type f_ret,@function\nf_ret:\n"
    "  ret\n"                               // +0
    ".size f_ret, .-f_ret\n"
    // rip-relative store
    ".globl f_store\n.type f_store,@function\nf_store:\n"
    "  mov %rdi, g_store(%rip)\n"           // +0
    "  mov g_store(%rip), %rax\n"           // +7
    "  ret\n"
    ".size f_store, .-f_store\n"
    // a load through a pointer argument (faults on a bad pointer)
    ".globl f_load\n.type f_load,@function\nf_load:\n"
    "  mov (%rdi), %rax\n"                  // +0
    "  ret\n"
    ".size f_load, .-f_load\n");

long f_riprel(long);
long f_lea(long);
long f_cmp(long);
long f_jmp(long);
long f_call(long);
long f_push(long);
long f_jcc(long);
long f_sse(long);
void f_ret(void);
long f_store(long);
long f_load(long*);

static sigjmp_buf recover;
static volatile unsigned long fault_rip, fault_addr;

static void on_segv(int sig, siginfo_t* si, void* uc) {
  (void)sig;
  fault_rip = (unsigned long)((ucontext_t*)uc)->uc_mcontext.gregs[REG_RIP];
  fault_addr = (unsigned long)si->si_addr;
  siglongjmp(recover, 1);
}

// usage: pk_insns fault — f_load(NULL) must fault at f_load itself, probed or not.
static int fault_mode(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  long v = 5;
  long s = f_load(&v);
  for (int i = 0; i < 3; i++) {
    if (sigsetjmp(recover, 1) == 0) s += f_load((long*)16);
    printf("fault %d at f_load%s addr %lu\n", i, fault_rip == (unsigned long)f_load ? "" : " (WRONG RIP)", fault_addr);
  }
  printf("sum %ld\n", s);
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "fault") == 0) return fault_mode();
  long rounds = argc > 1 ? atol(argv[1]) : 10;
  long s[10] = {0};
  for (long i = 0; i < rounds; i++) {
    s[0] += f_riprel(i);
    s[1] += f_lea(i);
    s[2] += f_cmp(i);
    s[3] += f_jmp(i);
    s[4] += f_call(i);
    s[5] += f_push(i);
    s[6] += f_jcc(i);
    s[7] += f_sse(i);
    f_ret();
    s[8] += i;
    s[9] += f_store(i);
  }
  printf("riprel %ld lea %ld cmp %ld jmp %ld call %ld push %ld jcc %ld sse %ld ret %ld store %ld\n", s[0], s[1],
         s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9]);
  return 0;
}
