// Fixture for elf_test: global, static, weak, ifunc and hand-assembled
// functions, initialised and zero data, and a stapsdt (USDT) note written by
// hand (no sys/sdt.h needed). Built PIE and non-PIE, then stripped copies.
#include <stdio.h>

const unsigned char fixture_magic[4] = {0xde, 0xad, 0xbe, 0xef};
unsigned char fixture_zeros[4096];

// Seven known bytes: push rbp; mov rbp,rsp; nop; pop rbp; ret.
__asm__(".text\n"
        ".globl fixture_known_bytes\n"
        ".type fixture_known_bytes, @function\n"
        "fixture_known_bytes:\n"
        ".byte 0x55, 0x48, 0x89, 0xe5, 0x90, 0x5d, 0xc3\n"
        ".size fixture_known_bytes, 7\n");
void fixture_known_bytes(void);

// One function under five names, as glibc's free is also cfree, __free,
// __libc_free and __GI___libc_free: a weak global, a global, two locals;
// and a cold part split off it, which no caller ever calls.
__asm__(".text\n"
        ".weak fixture_alias\n"
        ".globl __fixture_alias_global\n"
        ".type fixture_alias, @function\n"
        ".type fixture_alias_longer, @function\n"
        ".type __fixture_alias_global, @function\n"
        ".type __fixture_alias_local, @function\n"
        ".type __GI___fixture_alias_global, @function\n"
        ".weak fixture_alias_longer\n"
        "fixture_alias:\n"
        "fixture_alias_longer:\n"
        "__fixture_alias_global:\n"
        "__fixture_alias_local:\n"
        "__GI___fixture_alias_global:\n"
        ".byte 0x31, 0xc0, 0xc3\n"
        ".size fixture_alias, 3\n"
        ".size fixture_alias_longer, 3\n"
        ".size __fixture_alias_global, 3\n"
        ".size __fixture_alias_local, 3\n"
        ".size __GI___fixture_alias_global, 3\n"
        ".type fixture_alias.cold, @function\n"
        "fixture_alias.cold:\n"
        ".byte 0xc3\n"
        ".size fixture_alias.cold, 1\n");
int fixture_alias(void);

static int __attribute__((noinline)) static_helper(int x) { return x * 3 + fixture_magic[x & 3]; }

int __attribute__((noinline)) fixture_add(int a, int b) { return a + b + static_helper(a); }

__attribute__((weak, noinline)) int fixture_weak(int a) { return a - 1; }

static int impl_one(int x) { return x + 1; }
static int (*resolve_ifunc(void))(int) { return impl_one; }
int fixture_ifunc(int) __attribute__((ifunc("resolve_ifunc")));

int __attribute__((noinline)) fixture_usdt(int v) {
  __asm__ volatile(
      "990: nop\n"
      ".pushsection .note.stapsdt,\"\",\"note\"\n"
      ".balign 4\n"
      ".4byte 992f-991f, 994f-993f, 3\n"
      "991: .asciz \"stapsdt\"\n"
      "992: .balign 4\n"
      "993: .8byte 990b\n"
      ".8byte _.stapsdt.base\n"
      ".8byte 0\n"
      ".asciz \"pkfix\"\n"
      ".asciz \"tick\"\n"
      ".asciz \"-4@%0\"\n"
      "994: .balign 4\n"
      ".popsection\n"
      ".ifndef _.stapsdt.base\n"
      ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"
      ".weak _.stapsdt.base\n"
      ".hidden _.stapsdt.base\n"
      "_.stapsdt.base: .space 1\n"
      ".size _.stapsdt.base, 1\n"
      ".popsection\n"
      ".endif\n"
      :
      : "r"(v));
  return v + 1;
}

int main(int argc, char** argv) {
  (void)argv;
  fixture_known_bytes();
  (void)fixture_alias();
  printf("%d\n", fixture_add(argc, 2) + fixture_weak(argc) + fixture_ifunc(argc) + fixture_usdt(argc) +
                     fixture_zeros[argc]);
  return 0;
}
