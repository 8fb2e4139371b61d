// fork and vfork+exec children that call the probed function.
// usage: pk_fork fork | fork-maps | vfork | child N
// fork-maps: the fork child also says how many of its mappings are
// probekit's agent areas (none once a tracer that does not follow it let go).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noipa)) long work(long x) { return x + 1; }

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "fork";
  long s = 0;
  if (strcmp(mode, "child") == 0) {
    long n = argc > 2 ? atol(argv[2]) : 4;
    for (long i = 0; i < n; i++) s += work(i);
    printf("child %ld\n", s);
    return 0;
  }
  for (long i = 0; i < 3; i++) s += work(i);
  fflush(stdout);
  pid_t pid;
  if (strcmp(mode, "vfork") == 0) {
    pid = vfork();
    if (pid == 0) {
      execl(argv[0], argv[0], "child", "4", (char*)NULL);
      _exit(127);
    }
  } else {
    pid = fork();
    if (pid == 0) {
      long c = 0;
      for (long i = 0; i < 5; i++) c += work(i);
      printf("forked %ld\n", c);
      if (strcmp(mode, "fork-maps") == 0) {
        int areas = 0;
        char line[4096];
        FILE* f = fopen("/proc/self/maps", "r");
        while (f && fgets(line, sizeof line, f)) areas += strstr(line, "memfd:probekit") != NULL;
        if (f) fclose(f);
        printf("child areas %d\n", areas);
      }
      return 0;
    }
  }
  int st = 0;
  waitpid(pid, &st, 0);
  for (long i = 0; i < 2; i++) s += work(i);
  printf("parent %ld child-status %d\n", s, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}
