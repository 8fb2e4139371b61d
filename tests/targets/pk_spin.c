// Runs until killed, calling work() and printing a line every 20 ms, for
// attach/detach tests. usage: pk_spin [THREADS [hot|fork]]; hot: the
// THREADS call work() without sleeping (a jump probe's trampoline is then
// where detach often finds them); fork: main forks once first, and the
// child runs the same loop.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) long work(long x) { return x + 1; }

static void* spin(void* arg) {
  const int hot = arg != NULL;
  volatile long s = 0;
  for (long i = 0;; i++) {
    s += work(i);
    if (hot) continue;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 0;
  if (argc > 2 && strcmp(argv[2], "fork") == 0) fork();
  static int hot;
  for (int i = 0; i < threads; i++) {
    pthread_t t;
    pthread_create(&t, NULL, spin, argc > 2 && strcmp(argv[2], "hot") == 0 ? &hot : NULL);
  }
  long s = 0;
  for (long line = 0;; line++) {
    for (int i = 0; i < 20; i++) {
      s += work(i);
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
    printf("line %ld\n", line);
    fflush(stdout);
  }
  return 0;
}
