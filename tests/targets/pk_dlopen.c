// Loads a library late (dlopen after main started) and calls its function.
// usage: pk_dlopen LIBPATH CALLS
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noipa)) long work(long x) { return x + 1; }

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  long n = argc > 2 ? atol(argv[2]) : 5;
  long s = 0;
  for (long i = 0; i < 3; i++) s += work(i);
  void* h = dlopen(argv[1], RTLD_NOW);
  if (!h) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  long (*f)(long) = (long (*)(long))dlsym(h, "dl_func");
  for (long i = 0; i < n; i++) s += f(i);
  printf("sum %ld\n", s);
  return 0;
}
