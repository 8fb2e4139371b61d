// Threads calling one function a known number of times: exact hit counts.
// usage: pk_basic THREADS CALLS [AFTER]: with AFTER, once the threads are
// done the main thread calls done() and then work() AFTER times more (a D
// exit() in done's entry: the later calls must not count).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noipa)) long work(long x) { return x * 2 + 1; }
__attribute__((noipa)) void done(void) { __asm__ volatile("" ::: "memory"); }

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
  if (argc > 3) {
    done();
    for (long i = 0, after = atol(argv[3]); i < after; i++) total += work(i);
  }
  printf("threads %d calls %ld total %ld\n", threads, calls, total);
  return 0;
}
