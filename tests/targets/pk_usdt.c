// USDT (<sys/sdt.h>) probes in an executable and its libraries, for the
// USDT tests. usage: pk_usdt DLLIB N        (DLLIB: path of pk_usdtdl.so)
//                    pk_usdt wait            (loops until killed: attach tests)
// Probes (provider:name, arguments):
//   pkapp:tick      (i, "name-<i%3>", 5)   no semaphore; a string and a constant
//   pkapp:neg       (-i, (long)i * 1000000000000)   signed 4 and 8 bytes
//   pkapp:guarded   (i * 10)               semaphore pkapp_guarded_semaphore
//                                          (pk_usdt_sem.c): fires only when set
//   pklib:work      (i, "lib")             in libpk_usdtlib.so (linked)
//   pklib:work      (i, "lib")             in pk_usdtdl.so (dlopen, after main started)
// Prints what it did, so a traced run must print the same, except the
// number of guarded probes that fired (0 untraced).
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <unistd.h>

int pk_usdt_guarded(int v);  // pk_usdt_sem.c: 1 when its probe fired
long pklib_work(long i);     // libpk_usdtlib.so

static const char* const kNames[] = {"name-0", "name-1", "name-2"};

__attribute__((noinline)) static long app_tick(int i) {
  const char* name = kNames[i % 3];
  STAP_PROBE3(pkapp, tick, i, name, 5);
  return (long)strlen(name) + i;
}

__attribute__((noinline)) static void app_neg(int i) {
  int n = -i;
  long big = (long)i * 1000000000000L;
  STAP_PROBE2(pkapp, neg, n, big);
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "wait") == 0) {
    printf("waiting\n");
    fflush(stdout);
    for (;;) {
      pk_usdt_guarded(1);
      usleep(1000);
    }
  }
  if (argc < 3) return 2;
  int n = atoi(argv[2]);
  long sum = 0;
  int guarded = 0;
  for (int i = 0; i < n; i++) {
    sum += app_tick(i);
    app_neg(i);
    guarded += pk_usdt_guarded(i);
    sum += pklib_work(i);
  }
  void* h = dlopen(argv[1], RTLD_NOW);
  if (!h) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  long (*dl_work)(long) = (long (*)(long))dlsym(h, "pkdl_work");
  for (int i = 0; i < n; i++) sum += dl_work(i);
  printf("sum %ld guarded %d\n", sum, guarded);
  return 0;
}
