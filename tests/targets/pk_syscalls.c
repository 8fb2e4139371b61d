// System calls with known counts, for the syscall provider and sampling.
// usage: pk_syscalls count | fork | stdin | sleep N | busy ITERATIONS
//   count: getppid x7, getpid x1000, one open of a missing file, work() x7
//   fork:  getppid x2 in the parent, x3 in a forked child
//   stdin: for each line "N" read from stdin: getppid and work() N times,
//          then prints "done N ok K" (K = calls that returned the real ppid)
//   sleep: N nanosleeps of 10 ms
//   exec:  an execve that fails (ENOENT), then execs itself as "sleep 1"
//   busy:  two threads run busy(ITERATIONS); main joins them
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) long work(long x) { return x + 1; }

__attribute__((noipa)) long busy(long n) {
  volatile long s = 0;
  for (long i = 0; i < n; i++) s += i & 7;
  return s;
}

static long iterations;
static long results[2];

static void* worker(void* arg) {
  long i = (long)arg;
  results[i] = busy(iterations);
  return NULL;
}

static long raw_getppid(void) { return syscall(SYS_getppid); }

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "count";
  if (strcmp(mode, "count") == 0) {
    long ppid = raw_getppid();
    long same = 0, s = 0;
    for (int i = 0; i < 6; i++) same += raw_getppid() == ppid;
    for (int i = 0; i < 7; i++) s += work(i);
    long pid = syscall(SYS_getpid), pids = 0;
    for (int i = 0; i < 1000; i++) pids += syscall(SYS_getpid) == pid;
    int fd = open("/nonexistent-pk-dir/missing-file", O_RDONLY);
    int e = errno;
    printf("getppid same %ld getpid same %ld open %d errno %s work %ld\n", same, pids, fd,
           e == ENOENT ? "ENOENT" : "other", s);
    return 0;
  }
  if (strcmp(mode, "fork") == 0) {
    raw_getppid();
    raw_getppid();
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
      long ok = 0;
      for (int i = 0; i < 3; i++) ok += raw_getppid() == parent;
      printf("child ok %ld\n", ok);
      return 0;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("parent child-status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
  }
  if (strcmp(mode, "stdin") == 0) {
    char line[64];
    long ppid = raw_getppid();
    while (fgets(line, sizeof line, stdin)) {
      long n = atol(line), ok = 0;
      for (long i = 0; i < n; i++) {
        ok += raw_getppid() == ppid;
        work(i);
      }
      printf("done %ld ok %ld\n", n, ok);
      fflush(stdout);
    }
    return 0;
  }
  if (strcmp(mode, "exec") == 0) {
    execl("/nonexistent-pk-dir/missing-program", "missing-program", (char*)NULL);
    execl("/proc/self/exe", argv[0], "sleep", "1", (char*)NULL);
    return 3;
  }
  if (strcmp(mode, "sleep") == 0) {
    long n = argc > 2 ? atol(argv[2]) : 10;
    for (long i = 0; i < n; i++) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    printf("slept %ld\n", n);
    return 0;
  }
  if (strcmp(mode, "busy") == 0) {
    iterations = argc > 2 ? atol(argv[2]) : 100000000;
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void*)i);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("busy %ld %ld\n", results[0], results[1]);
    return 0;
  }
  return 2;
}
