// A small "server": threads allocating and freeing with a recognisable
// size, for probing libc's malloc (issue 2). usage: pk_malloc THREADS CALLS [wait]
// With "wait" it reads one byte from stdin before starting (attach tests).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long calls = 1000;
static char* volatile sink;  // keeps -O2 from eliding the malloc/free pair
static long total;

static void* run(void* arg) {
  (void)arg;
  long s = 0;
  for (long i = 0; i < calls; i++) {
    char* p = malloc(777);
    sink = p;
    p[0] = (char)i;
    s += p[0] != 0;
    free(p);
  }
  __atomic_add_fetch(&total, s, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4;
  if (argc > 2) calls = atol(argv[2]);
  if (argc > 3 && strcmp(argv[3], "wait") == 0) {
    char c;
    if (read(0, &c, 1) != 1) return 3;
  }
  pthread_t t[64];
  if (threads > 64) threads = 64;
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, NULL);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  printf("threads %d calls %ld nonzero %ld\n", threads, calls, total);
  return 0;
}
