// A program with its own SIGTRAP handler (raise(SIGTRAP) and its own int3)
// that also receives a storm of queued real-time signals from a sender
// thread while it calls a probed function. Prints exact counts.
// usage: pk_signals TRAPS STORM
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noipa)) long work(long x) { return x + 1; }

static volatile sig_atomic_t traps;
static volatile long storm_seen;
static long storm;

static void on_trap(int sig) { (void)sig; traps++; }
static void on_rt(int sig) { (void)sig; __atomic_add_fetch(&storm_seen, 1, __ATOMIC_SEQ_CST); }

static void* sender(void* arg) {
  pid_t pid = getpid();
  (void)arg;
  for (long i = 0; i < storm; i++) {
    union sigval v = {.sival_int = (int)i};
    while (sigqueue(pid, SIGRTMIN + 1, v) != 0) usleep(100);  // EAGAIN: queue full
  }
  return NULL;
}

int main(int argc, char** argv) {
  long ntraps = argc > 1 ? atol(argv[1]) : 3;
  storm = argc > 2 ? atol(argv[2]) : 100;
  signal(SIGTRAP, on_trap);
  struct sigaction sa = {0};
  sa.sa_handler = on_rt;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGRTMIN + 1, &sa, NULL);
  // The sender thread must not take the signals itself.
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN + 1);
  pthread_sigmask(SIG_BLOCK, &rt, NULL);
  pthread_t t;
  pthread_create(&t, NULL, sender, NULL);
  pthread_sigmask(SIG_UNBLOCK, &rt, NULL);
  long calls = 0;
  for (long i = 0; i < ntraps; i++) {
    raise(SIGTRAP);
    calls += work(i) > 0;
    __asm__ volatile("int3");
    calls += work(i) > 0;
  }
  pthread_join(t, NULL);
  // Every queued signal is delivered; wait for the last ones (bounded).
  for (long spins = 0; storm_seen < storm && spins < 200000000; spins++) calls += work(spins) > 0 ? 0 : 1;
  printf("traps %d storm %ld/%ld\n", (int)traps, storm_seen, storm);
  return 0;
}
