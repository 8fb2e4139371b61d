// Threads calling one function a known number of times: exact hit counts.
// usage: pk_basic THREADS CALLS
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noipa)) long work(long x) { return x * 2 + 1; }

static long calls = 10;
static long total;

static void* run(void* arg) {
  (void)arg;
  long s = 0;
  for (long i = 0; i < calls; i++) s += work(i);
  __atomic_add_fetch(&total, s, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (argc > 2) calls = atol(argv[2]);
  pthread_t t[64];
  if (threads > 64) threads = 64;
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, NULL);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  printf("threads %d calls %ld total %ld\n", threads, calls, total);
  return 0;
}
