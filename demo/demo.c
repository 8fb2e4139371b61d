/* probekit-demo: a small "request server" for `make demo`.
 *
 * Two worker threads handle requests: each request is a name that is hashed
 * (hash_name), sometimes looked up in a slow path (slow_lookup), and answered
 * with a malloc'ed reply. Every function is an ordinary C function: nothing
 * here knows it will be traced. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char* names[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};

__attribute__((noinline)) unsigned long hash_name(const char* name, unsigned long seed) {
  unsigned long h = seed ^ 1469598103934665603UL;
  for (const char* p = name; *p; ++p) h = (h ^ (unsigned char)*p) * 1099511628211UL;
  return h;
}

__attribute__((noinline)) int slow_lookup(unsigned long key) {
  usleep(2000 + (key % 5) * 1000);
  return (int)(key % 97);
}

__attribute__((noinline)) char* process_request(int id, const char* name) {
  unsigned long h = hash_name(name, (unsigned long)id);
  int v = (h % 3 == 0) ? slow_lookup(h) : (int)(h % 13);
  char* reply = malloc(64);
  snprintf(reply, 64, "%s=%d", name, v);
  return reply;
}

struct worker {
  int first, count;
  unsigned long total;
};

static void* work(void* arg) {
  struct worker* w = arg;
  for (int i = 0; i < w->count; ++i) {
    int id = w->first + i;
    char* reply = process_request(id, names[id % 6]);
    w->total += strlen(reply);
    free(reply);
    usleep(20000);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int per_thread = argc > 1 ? atoi(argv[1]) : 25;
  struct worker w[2] = {{0, per_thread, 0}, {1000, per_thread, 0}};
  pthread_t t[2];
  for (int i = 0; i < 2; ++i) pthread_create(&t[i], NULL, work, &w[i]);
  for (int i = 0; i < 2; ++i) pthread_join(t[i], NULL);
  printf("served %d requests, %lu reply bytes\n", 2 * per_thread, w[0].total + w[1].total);
  return 0;
}
