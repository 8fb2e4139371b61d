// pk_types: structs that D programs read through the program's own types
// (DWARF), as DTrace reads CTF: nested structs and unions, bit-fields,
// arrays, a linked list, a double and an enum. `pk_types N` calls visit() on
// each of N nodes and prints what it saw (the output must not change under
// tracing); `pk_types N LABEL` also hands LABEL's bytes to relabel() and
// prints them after (what a tracer's copyout() changed).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct point {
  int x;
  int y;
};

struct flags {
  unsigned ready : 1;
  unsigned mode : 3;
  int delta : 5;
  unsigned long long big : 40;
};

struct node {
  long id;
  struct point at;
  union {
    int as_int;
    unsigned char bytes[4];
  } u;
  struct flags f;
  char name[16];
  short samples[4];
  double weight;
  struct node *next;
};

enum color { RED, GREEN = 5, BLUE };

struct tagged {
  enum color hue;
  int weight;
};

typedef struct node node_t;
typedef unsigned long counter_t;  // a scalar typedef D reads from DWARF: (counter_t)x
counter_t nodes_made;

__attribute__((noipa)) long visit(node_t *n) { return n->id + n->at.x + n->at.y + n->f.delta; }
__attribute__((noipa)) int paint(struct tagged *t) { return (int)t->hue + t->weight; }
__attribute__((noipa)) size_t relabel(char *label) { return strlen(label); }

int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 2;
  node_t *head = NULL;
  for (int i = count; i >= 1; --i) {
    node_t *n = calloc(1, sizeof *n);
    n->id = i;
    n->at.x = 10 * i;
    n->at.y = -i;
    n->u.as_int = 0x01020304;
    n->f.ready = 1;
    n->f.mode = (unsigned)(i % 8);
    n->f.delta = -i;
    n->f.big = 0x123456789aULL;
    snprintf(n->name, sizeof n->name, "node-%d", i);
    for (int k = 0; k < 4; ++k) n->samples[k] = (short)(i * 100 + k);
    n->weight = i * 1.5;
    n->next = head;
    head = n;
    ++nodes_made;
  }
  long sum = 0;
  for (node_t *n = head; n; n = n->next) sum += visit(n);
  printf("visited %d nodes, sum %ld\n", count, sum);
  struct tagged t = {BLUE, count};
  if (paint(&t) != BLUE + count) return 1;
  if (argc > 2) {
    char label[16] = {0};
    snprintf(label, sizeof label, "%s", argv[2]);
    relabel(label);
    printf("label %s\n", label);
  }
  return 0;
}
