// Threads passing strings to a function, for D's strings in the agent:
// five names in turn (one empty, one longer than the tests' strsize of 16)
// and, every 100th call, an address with nothing readable.
// usage: pk_strings THREADS CALLS
//        pk_strings places: one call with a string from each kind of
//        memory the agent reads (its direct reads and its system call:
//        agent.c safe_read), from the main thread and from a thread.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

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

static const char rodata[] = "in-the-executable";

// From a thread: its own stack, the main thread's stack, the executable.
static void* places_thread(void* arg) {
  char mine[16];
  strcpy(mine, "thread-stack");
  name_hit(10, mine);
  name_hit(11, (const char*)arg);
  name_hit(12, rodata);
  return NULL;
}

static int places(void) {
  char on_stack[32];
  strcpy(on_stack, "main-stack");
  char* heap = strdup("heap");
  // The last bytes of a mapping, the page after it unmapped: a string
  // that runs into nothing readable is cut there.
  char* page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 1;
  munmap(page + 4096, 4096);
  memcpy(page + 4096 - 4, "tail", 4);  // no NUL before the mapping ends
  name_hit(1, rodata);
  name_hit(2, on_stack);
  name_hit(3, heap);
  name_hit(4, (const char*)getauxval(AT_EXECFN));  // the last string at the top of the main stack
  name_hit(5, page + 4096 - 4);
  pthread_t t;
  pthread_create(&t, NULL, places_thread, on_stack);
  pthread_join(t, NULL);
  printf("places done\n");
  free(heap);
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "places") == 0) return places();
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (argc > 2) calls = atol(argv[2]);
  pthread_t t[64];
  if (threads > 64) threads = 64;
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, NULL);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  printf("threads %d calls %ld total %ld\n", threads, calls, total);
  return 0;
}
