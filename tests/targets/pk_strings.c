// Threads passing strings to a function, for D's strings in the agent:
// five names in turn (one empty, one longer than the tests' strsize of 16)
// and, every 100th call, an address with nothing readable.
// usage: pk_strings THREADS CALLS
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char* const names[5] = {"alpha", "beta", "", "a-name-longer-than-sixteen-bytes", "gamma"};

__attribute__((noipa)) long name_hit(long i, const char* name) { return i + (name != NULL); }

static long calls = 10;
static long total;

static void* run(void* arg) {
  (void)arg;
  long s = 0;
  for (long i = 0; i < calls; i++) s += name_hit(i, i % 100 == 99 ? (const char*)16 : names[i % 5]);
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
