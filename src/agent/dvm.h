/* agent/dvm.h — the machine that runs D clauses where the probe fires.
 *
 * The code (agent_abi.h, PK_OP_*) comes from the D front end's agent code
 * generator (d/agent_codegen.h). This header is the one interpreter: the
 * agent includes it (agent.c, for jump sites) and so may the tracer, for a
 * probe of the same program that stops the thread instead. It is C that
 * also compiles as C++, freestanding: no libc, no division of 128-bit
 * numbers, no vector register.
 *
 * The one idea: everything a hit touches is reached through its thread's
 * part of the shared state (self-> variables, aggregation tables), which
 * only that thread writes, so nothing needs an atomic operation and
 * probekit reads the parts to print. Global variables are the exception:
 * one word per process, shared by its threads, added to atomically. The thread's slot, the time and the
 * CPU are asked for only when the code needs them: a predicate that
 * rejects `arg0 == 12345` costs a few instructions.
 *
 * Bounds: jumps go forward only, so a hit runs each instruction at most
 * once; the stack is PK_DVM_STACK words and the code generator proves the
 * code never needs more (the interpreter checks anyway); a memory read
 * that fails abandons the clause, as DTrace abandons it on a fault. */
#ifndef PROBEKIT_AGENT_DVM_H
#define PROBEKIT_AGENT_DVM_H

#include "agent_abi.h"

__extension__ typedef unsigned __int128 pk_u128; /* multiplication only: no libgcc division */

struct pk_dvm_hit;
typedef struct pk_thread *(*pk_dvm_thread_fn)(struct pk_dvm_hit *);
/* Reads len bytes of the target at addr into dst; returns how many (0: a
 * fault). With `string` the caller needs only the bytes up to the first
 * NUL: those after it may be left unwritten (a string read stops early). */
typedef uint32_t (*pk_dvm_read_fn)(struct pk_dvm_hit *, uint64_t addr, uint8_t *dst, uint32_t len, int string);
typedef uint64_t (*pk_dvm_tsc_fn)(struct pk_dvm_hit *);
typedef uint32_t (*pk_dvm_cpu_fn)(struct pk_dvm_hit *);
/* Where this hit's output items go (agent_abi.h PK_ITEM_DOUT): called at
 * the first one; returns the buffer and its capacity, or 0 (no room: the
 * output of the hit is dropped, counted in out_drops). */
typedef uint8_t *(*pk_dvm_open_fn)(struct pk_dvm_hit *, uint32_t *cap);
/* raise(): sends the signal to the hitting thread (PK_OP_RAISE). */
typedef void (*pk_dvm_raise_fn)(struct pk_dvm_hit *, uint64_t sig);
/* ustack()'s walk (PK_OP_USTACK): the return address `value` read at
 * `slot` as the program sees it (the agent's return trampoline, put there
 * by a return probe's hijack, becomes the real address its shadow stack
 * keeps). */
typedef uint64_t (*pk_dvm_retaddr_fn)(struct pk_dvm_hit *, uint64_t slot, uint64_t value);

struct pk_dvm_hit {
  const struct pk_control *c;   /* in this process's view */
  const uint8_t *data;          /* the data area (== c) */
  struct pk_thread *threads;    /* the thread table, this process's view */
  uint8_t *parts;               /* the D state's thread parts, this process's view */
  const uint64_t *frame;        /* r15..rdi, then rflags */
  uint64_t rsp, rip, fsbase;
  pk_dvm_thread_fn thread;      /* the hitting thread's slot (0: none free) */
  pk_dvm_read_fn read;          /* target memory; returns the bytes read */
  pk_dvm_tsc_fn tsc;
  pk_dvm_cpu_fn cpu;
  void *env;                    /* the caller's */
  struct pk_thread *t;          /* filled on first use */
  uint64_t now;                 /* timestamp, once read (0: not yet): one value per firing, as DTrace's */
  int64_t ret_offset;           /* at a return: the returning instruction's offset (PK_DVAR_RETOFF) */
  /* Output (PK_OP_OUT, faults as ERROR): 0 open means the code has none. */
  pk_dvm_open_fn open;
  uint8_t *out;                 /* filled on first use */
  uint32_t out_len, out_cap, out_items;
  uint32_t out_drops;           /* clauses whose output found no room */
  /* The running clause's output so far (set where a clause starts: CLAUSE,
   * or the native code's clause entry): a fault drops what it wrote, and
   * `clause_dropped` says its output already found no room. */
  uint32_t clause_out, clause_items, clause_dropped;
  /* Destructive actions (-w): override() sets these, raise() calls raise. */
  pk_dvm_raise_fn raise;        /* 0: raise() does nothing */
  uint32_t overridden;          /* override() ran: the function returns override_value */
  uint64_t override_value;
  /* ustack() and its family (PK_OP_USTACK, pk_dvm_ustack). */
  uint64_t stack_top;           /* the first frame: the probed instruction (a jump return site's `ret`,
                                   its function's address + ret_offset); 0: rip */
  uint64_t stack_caller;        /* the probed function's return address when the caller knows it (a jump
                                   return site: the real one the trampoline goes to); 0: read at [rsp] */
  pk_dvm_retaddr_fn real_return; /* 0: return addresses as read */
};

/* Appends an item of `len` payload bytes; its payload, or 0 when it does
 * not fit. */
static inline uint8_t *pk_dvm_item(struct pk_dvm_hit *h, uint32_t flags, uint64_t address, uint32_t len) {
  const uint32_t need = (uint32_t)sizeof(struct pk_item) + ((len + 7u) & ~7u);
  if (!h->out) {
    if (!h->open || h->out_cap == ~0u) return 0;
    h->out = h->open(h, &h->out_cap);
    if (!h->out) {
      h->out_cap = ~0u; /* not again in this hit */
      return 0;
    }
  }
  if (h->out_len + need > h->out_cap) return 0;
  struct pk_item *it = (struct pk_item *)(h->out + h->out_len);
  it->address = address;
  it->length = len;
  it->flags = flags;
  h->out_len += need;
  h->out_items++;
  return (uint8_t *)(it + 1);
}

static inline uint64_t pk_dvm_u64(const uint8_t *p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8); /* one unaligned load (x86-64 is little-endian) */
  return v;
}
static inline uint32_t pk_dvm_u16(const uint8_t *p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}

/* ---- Strings a word at a time ----
 * A string value is always an agent-held copy (agent_abi.h): when it
 * starts on an 8-byte boundary (the thread parts, the global words, an
 * array's entry, a thread's name; a literal in the code may not), every
 * aligned word holding one of its bytes lies in its room, or at worst on
 * the same page as its last byte, so reading whole words up to its NUL
 * never faults. Elsewhere it is read a byte at a time. */
static const uint8_t pk_dvm_empty[8] = {0}; /* "": an array of strings' missing element */

/* Nonzero when a byte of w is 0; its lowest set bit marks the first one. */
static inline uint64_t pk_dvm_zero_bytes(uint64_t w) {
  return (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
}

/* strnlen(s, max). */
static inline uint32_t pk_dvm_slen(const uint8_t *s, uint32_t max) {
  uint32_t n = 0;
  if (!((uintptr_t)s & 7)) {
    for (; n + 8 <= max; n += 8) {
      const uint64_t z = pk_dvm_zero_bytes(pk_dvm_u64(s + n));
      if (z) return n + (uint32_t)__builtin_ctzll(z) / 8;
    }
  }
  while (n < max && s[n]) ++n;
  return n;
}

/* Copies at most max bytes of src up to its NUL to dst, then a NUL
 * (dst has room for max + 1 bytes); returns the length. */
static inline uint32_t pk_dvm_scopy(uint8_t *dst, const uint8_t *src, uint32_t max) {
  uint32_t n = 0;
  if (!((uintptr_t)src & 7)) {
    for (; n + 8 <= max; n += 8) {
      const uint64_t w = pk_dvm_u64(src + n);
      if (pk_dvm_zero_bytes(w)) break;
      __builtin_memcpy(dst + n, &w, 8);
    }
  }
  for (; n < max && src[n]; ++n) dst[n] = src[n];
  dst[n] = 0;
  return n;
}

/* A string as `words` key words: its bytes (at most 8 * words), the rest
 * zero. */
static inline void pk_dvm_skey(uint64_t *key, const uint8_t *src, uint32_t words) {
  uint32_t i = 0;
  if (!((uintptr_t)src & 7)) {
    for (; i < words; ++i) {
      const uint64_t w = pk_dvm_u64(src + 8ull * i);
      const uint64_t z = pk_dvm_zero_bytes(w);
      if (z) { /* keep the bytes before the first NUL */
        const uint32_t keep = (uint32_t)__builtin_ctzll(z) & ~7u;
        key[i++] = keep ? w & (~0ull >> (64 - keep)) : 0;
        break;
      }
      key[i] = w;
    }
  } else {
    uint8_t *k = (uint8_t *)key;
    for (; i < 8u * words && src[i]; ++i) k[i] = src[i];
    for (; i < 8u * words; ++i) k[i] = 0;
    return;
  }
  for (; i < words; ++i) key[i] = 0;
}

static inline uint64_t pk_dvm_reg(const struct pk_dvm_hit *h, uint32_t reg) {
  /* struct user_regs_struct's words: 0..14 r15..rdi, 15 orig_rax, 16 rip,
   * 17 cs, 18 eflags, 19 rsp, 20 ss, 21 fs_base. */
  if (reg < 15) return h->frame[reg];
  switch (reg) {
    case 15: return ~0ull;
    case 16: return h->rip;
    case 17: return 0x33;
    case 18: return h->frame[15];
    case 19: return h->rsp;
    case 20: return 0x2b;
    case 21: return h->fsbase;
    default: return 0;
  }
}

static inline int64_t pk_dvm_ext(uint64_t v, uint32_t bytes, uint32_t is_signed) {
  switch (bytes) {
    case 1: return is_signed ? (int64_t)(int8_t)v : (int64_t)(uint8_t)v;
    case 2: return is_signed ? (int64_t)(int16_t)v : (int64_t)(uint16_t)v;
    case 4: return is_signed ? (int64_t)(int32_t)v : (int64_t)(uint32_t)v;
    default: return (int64_t)v;
  }
}

/* DTrace's power-of-two buckets (d/aggregation.h quantize_bucket). */
static inline uint32_t pk_dvm_quantize(int64_t v) {
  if (v == 0) return 63;
  if (v > 0) return 63 + 1 + (uint32_t)(63 - __builtin_clzll((uint64_t)v));
  const uint64_t a = (uint64_t)0 - (uint64_t)v;
  const int log2 = 63 - __builtin_clzll(a);
  return log2 >= 62 ? 0 : (uint32_t)(63 - 1 - log2);
}

static inline uint32_t pk_dvm_lquantize(const struct pk_dagg *a, int64_t v) {
  if (v < a->lo) return 0;
  const uint64_t level = ((uint64_t)v - (uint64_t)a->lo) / (uint64_t)a->step;
  return level < a->levels ? (uint32_t)level + 1 : a->levels + 1;
}

/* dtrace-utils' llquantize buckets (d/aggregation.cpp llq_bucket), in 64
 * bits: the front end guarantees factor^(hmag + 1) fits in an int64, so
 * only |v| * steps needs 128 bits, and its quotient by a power of factor
 * (below steps) is one divq: no libgcc. */
static inline uint32_t pk_dvm_llquantize(const struct pk_dagg *a, int64_t v) {
  const uint64_t factor = a->factor, steps = a->steps, steps_factor = steps / factor;
  const uint64_t per_mag = steps - steps_factor;
  const uint64_t npos = ((uint64_t)a->hmag - a->lmag + 1u) * per_mag;
  const uint64_t bin0 = 1u + npos;
  const uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  uint64_t low = 1;
  for (uint32_t i = 0; i < a->lmag; ++i) low *= factor;
  if (m < low) return (uint32_t)bin0;
  uint64_t top = low;
  for (uint32_t i = a->lmag; i <= a->hmag; ++i) top *= factor;
  uint64_t k;
  if (m >= top) {
    k = npos + 1u;
  } else {
    uint64_t mag = a->lmag, next = low * factor;
    while (m >= next) { /* at most hmag - lmag times: m < top */
      next *= factor;
      ++mag;
    }
    const pk_u128 num = (pk_u128)m * steps;
    uint64_t idx, rem;
    __asm__("divq %4" : "=a"(idx), "=d"(rem) : "a"((uint64_t)num), "d"((uint64_t)(num >> 64)), "rm"(next));
    (void)rem; /* idx < steps: m < next */
    k = 1u + (mag - a->lmag) * per_mag + idx - steps_factor;
  }
  return (uint32_t)(v < 0 ? bin0 - k : bin0 + k);
}

/* The entry of `key` in a table, created when missing; 0 when full. */
/* A key's hash. Zero words are skipped: a string key part is mostly its
 * NUL padding (strsize bytes), and mixing those words was most of the
 * cost of a string-keyed hit; each other word is rotated by its index, so
 * that (0, 5) and (5, 0) still differ. */
static inline uint64_t pk_dvm_hash(const uint64_t *key, uint32_t words) {
  uint64_t hash = 0x9e3779b97f4a7c15ull;
  for (uint32_t i = 0; i < words; ++i) {
    const uint64_t w = key[i];
    if (!w) continue;
    const uint32_t r = i & 63;
    hash ^= r ? (w << r) | (w >> (64 - r)) : w;
    hash *= 0xbf58476d1ce4e5b9ull;
    hash ^= hash >> 31;
  }
  return hash;
}

static inline uint64_t *pk_dvm_entry(uint8_t *table, const struct pk_dagg *a, const uint64_t *key) {
  const uint64_t hash = pk_dvm_hash(key, a->key_words);
  const uint32_t words = 1u + a->key_words + a->value_words, mask = a->capacity - 1;
  uint64_t *entries = (uint64_t *)(table + sizeof(struct pk_dagg_table));
  uint32_t i = (uint32_t)hash & mask;
  for (uint32_t n = 0; n < a->capacity; ++n, i = (i + 1) & mask) {
    uint64_t *e = entries + (uint64_t)i * words;
    if (e[0] == 0) {
      for (uint32_t k = 0; k < a->key_words; ++k) e[1 + k] = key[k];
      for (uint32_t k = 0; k < a->value_words; ++k) e[1 + a->key_words + k] = 0;
      __atomic_store_n(&e[0], 1, __ATOMIC_RELEASE); /* probekit reads a key only once this is set */
      return e;
    }
    uint32_t k = 0;
    while (k < a->key_words && e[1 + k] == key[k]) ++k;
    if (k == a->key_words) return e;
  }
  ((struct pk_dagg_table *)table)->drops++;
  return 0;
}

static inline void pk_dvm_aggregate(uint8_t *part, const struct pk_dagg *a, const uint64_t *key, int64_t v,
                                    int64_t incr) {
  uint64_t *e = pk_dvm_entry(part + a->offset, a, key);
  if (!e) return;
  int64_t *val = (int64_t *)(e + 1 + a->key_words);
  switch (a->func) {
    case PK_DAGG_COUNT: val[0]++; break;
    case PK_DAGG_SUM: val[0] += v; break;
    case PK_DAGG_AVG: val[0]++; val[1] += v; break;
    case PK_DAGG_MIN:
      if (val[0] == 0 || v < val[1]) val[1] = v;
      val[0]++;
      break;
    case PK_DAGG_MAX:
      if (val[0] == 0 || v > val[1]) val[1] = v;
      val[0]++;
      break;
    case PK_DAGG_STDDEV: {
      val[0]++;
      val[1] += v;
      /* |v|^2 as 128 bits, added to (val[2] low, val[3] high) */
      const uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
      const pk_u128 sq = (pk_u128)m * m;
      const uint64_t lo = (uint64_t)sq, hi = (uint64_t)(sq >> 64);
      const uint64_t old = (uint64_t)val[2];
      val[2] = (int64_t)(old + lo);
      val[3] = (int64_t)((uint64_t)val[3] + hi + ((uint64_t)val[2] < old ? 1u : 0u));
      break;
    }
    case PK_DAGG_QUANTIZE: val[pk_dvm_quantize(v)] += incr; break;
    case PK_DAGG_LQUANTIZE: val[pk_dvm_lquantize(a, v)] += incr; break;
    case PK_DAGG_LLQUANTIZE: val[pk_dvm_llquantize(a, v)] += incr; break;
    default: break;
  }
}

/* An associative array's entry for `key` (agent_abi.h pk_darray): found,
 * or with `create` claimed (its state DEAD until the caller makes it LIVE);
 * 0 when missing or when the table has no free entry. */
/* Words of an array's entry: the state word, the key, the value. */
static inline uint64_t pk_dvm_aentry_words(const struct pk_darray *a) {
  return 1u + a->key_words + (a->value_words ? a->value_words : 1u);
}

static inline uint64_t *pk_dvm_aentry(uint64_t *globals, uint32_t table, const uint64_t *key, int create) {
  struct pk_darray *a = (struct pk_darray *)(globals + table);
  const uint32_t kw = (uint32_t)a->key_words, words = (uint32_t)pk_dvm_aentry_words(a);
  const uint64_t mask = a->capacity - 1;
  const uint64_t hash = pk_dvm_hash(key, kw);
  uint64_t *entries = globals + table + sizeof(struct pk_darray) / 8;
  uint64_t i = hash & mask;
  for (uint64_t n = 0; n <= mask; ++n, i = (i + 1) & mask) {
    uint64_t *e = entries + i * words;
    uint64_t state = __atomic_load_n(&e[0], __ATOMIC_ACQUIRE);
    if (state == PK_DENTRY_FREE) {
      if (!create) return 0; /* keys are never moved: the key is not in the table */
      uint64_t expected = PK_DENTRY_FREE;
      if (__atomic_compare_exchange_n(&e[0], &expected, PK_DENTRY_CLAIMED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        for (uint32_t k = 0; k < kw; ++k) e[1 + k] = key[k];
        e[1 + kw] = 0; /* 0, or "" */
        __atomic_store_n(&e[0], PK_DENTRY_DEAD, __ATOMIC_RELEASE);
        return e;
      }
      state = expected; /* another thread claimed it first: maybe for this key */
    }
    for (uint32_t spin = 0; state == PK_DENTRY_CLAIMED && spin < 100000; ++spin) {
      __builtin_ia32_pause();
      state = __atomic_load_n(&e[0], __ATOMIC_ACQUIRE);
    }
    if (state == PK_DENTRY_CLAIMED) continue; /* its writer is stopped: taken as another key */
    uint32_t k = 0;
    while (k < kw && e[1 + k] == key[k]) ++k;
    if (k == kw) return e;
  }
  return 0;
}

/* What an element is charged: elem_bytes, the tracer's charge for every
 * dynamic variable (d::dynamic_variable_bytes, dtrace-utils' rule). */
static inline uint64_t pk_dvm_abytes(const struct pk_darray *a, const uint64_t *key) {
  (void)key;
  return a->elem_bytes;
}

/* Charges one element to the budget; 0 (a drop counted) when it does not fit. */
static inline int pk_dvm_acharge(uint64_t *globals, const struct pk_darray *a, uint64_t bytes) {
  struct pk_ddyn *d = (struct pk_ddyn *)(globals + a->dyn);
  const uint64_t used = __atomic_add_fetch(&d->used, bytes, __ATOMIC_RELAXED);
  if (d->limit && (bytes > d->limit || used > d->limit)) {
    __atomic_sub_fetch(&d->used, bytes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&d->drops, 1, __ATOMIC_RELAXED);
    return 0;
  }
  return 1;
}

/* A DEAD entry made LIVE (charged); 0 when it found no room. One thread
 * at a time charges for an entry (REVIVING): two threads creating the same
 * element at once must not both charge it, or the second can find the
 * budget full of the first's charge and count a drop for an element that
 * is there. */
static inline int pk_dvm_alive(uint64_t *globals, const struct pk_darray *a, uint64_t *e) {
  for (uint32_t spin = 0; spin < 100000; ++spin) {
    uint64_t state = __atomic_load_n(&e[0], __ATOMIC_ACQUIRE);
    if (state == PK_DENTRY_LIVE) return 1;
    if (state == PK_DENTRY_DEAD) {
      if (!__atomic_compare_exchange_n(&e[0], &state, PK_DENTRY_REVIVING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        continue;
      const int ok = pk_dvm_acharge(globals, a, pk_dvm_abytes(a, e + 1));
      __atomic_store_n(&e[0], ok ? PK_DENTRY_LIVE : PK_DENTRY_DEAD, __ATOMIC_RELEASE);
      return ok;
    }
    __builtin_ia32_pause(); /* REVIVING: another thread is charging for it */
  }
  __atomic_add_fetch(&((struct pk_ddyn *)(globals + a->dyn))->drops, 1, __ATOMIC_RELAXED);
  return 0; /* its reviver is stopped: a drop */
}

/* A LIVE entry whose value became 0 deleted (its charge given back). */
static inline void pk_dvm_adelete(uint64_t *globals, const struct pk_darray *a, uint64_t *e) {
  uint64_t expected = PK_DENTRY_LIVE;
  if (__atomic_compare_exchange_n(&e[0], &expected, PK_DENTRY_DEAD, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    __atomic_sub_fetch(&((struct pk_ddyn *)(globals + a->dyn))->used, pk_dvm_abytes(a, e + 1), __ATOMIC_RELAXED);
}

/* Storing 0 (or "" to an array of strings) at key: a live element is
 * emptied (its first value word zeroed, so a string reads as "") and
 * deleted; a missing one stays missing, nothing charged (dtrace-utils'
 * dt_get_assoc, d/compiler.cpp Assign). e is pk_dvm_aentry's answer for
 * the key (0: none). ASET, ASSET. */
static inline void pk_dvm_aclear(uint64_t *globals, const struct pk_darray *a, uint64_t *e, const uint64_t *key) {
  (void)key;
  if (e && __atomic_load_n(&e[0], __ATOMIC_ACQUIRE) == PK_DENTRY_LIVE) {
    __atomic_store_n(&e[1 + a->key_words], 0, __ATOMIC_RELAXED);
    pk_dvm_adelete(globals, a, e);
  }
}

/* The callbacks, read once at the start of a hit (pk_dvm_run): where the
 * caller has just set them (the agent's dprog_hit), the compiler then
 * calls them directly and inlines them (no indirect call for `timestamp`);
 * read from h after a call, they could have changed. */
struct pk_dvm_fns {
  pk_dvm_thread_fn thread;
  pk_dvm_read_fn read;
  pk_dvm_tsc_fn tsc;
  pk_dvm_cpu_fn cpu;
};

static inline struct pk_thread *pk_dvm_thread(struct pk_dvm_hit *h, const struct pk_dvm_fns *f) {
  if (!h->t) h->t = f->thread(h);
  return h->t;
}

static inline uint8_t *pk_dvm_part(struct pk_dvm_hit *h, const struct pk_dvm_fns *f) {
  struct pk_thread *t = pk_dvm_thread(h, f);
  if (!t) return 0;
  return h->parts + (uint64_t)(t - h->threads) * h->c->dstate_stride;
}

static inline uint64_t pk_dvm_timestamp(struct pk_dvm_hit *h, const struct pk_dvm_fns *f) {
  if (h->now) return h->now;
  const struct pk_control *c = h->c;
  const uint64_t tsc = f->tsc(h);
  const uint64_t d = tsc - c->tsc_base;
  if ((int64_t)d < 0)
    h->now = c->ns_base - (uint64_t)(((pk_u128)(c->tsc_base - tsc) * c->tsc_mult) >> c->tsc_shift);
  else
    h->now = c->ns_base + (uint64_t)(((pk_u128)d * c->tsc_mult) >> c->tsc_shift);
  return h->now;
}

/* AGG's update once its part is known (pk_dvm_run, and native code
 * through the agent's pk_agent_dvm_aggregate): args are the key words,
 * then the value and the increment. */
static inline void pk_dvm_aggregate_at(const struct pk_dvm_hit *h, uint8_t *part, uint32_t index, const uint64_t *args) {
  if (index >= h->c->ndaggs) return;
  const struct pk_dagg *a = (const struct pk_dagg *)(h->data + h->c->daggs_offset) + index;
  pk_dvm_aggregate(part, a, args, (int64_t)args[a->key_words], (int64_t)args[a->key_words + 1]);
}

/* A thread's self-> variable is charged to dynvarsize as the tracer
 * charges it (d/compiler.cpp SelfVar): self_bytes at its first store, once
 * (the part's word `flag`, the variable's own, remembers it).
 * Returns 0 when there is no room: the store is a drop and goes nowhere
 * (SETSELFDYN, SSTOREDYN). */
static inline int pk_dvm_charge_self(const struct pk_dvm_hit *h, uint8_t *part, uint32_t flag, uint32_t dyn) {
  uint64_t *w = (uint64_t *)part;
  if (w[flag]) return 1;
  uint64_t *globals = (uint64_t *)(h->parts + (uint64_t)h->c->nthreads_max * h->c->dstate_stride);
  struct pk_ddyn *d = (struct pk_ddyn *)(globals + dyn);
  const uint64_t bytes = d->self_bytes;
  const uint64_t used = __atomic_add_fetch(&d->used, bytes, __ATOMIC_RELAXED);
  if (d->limit && (bytes > d->limit || used > d->limit)) {
    __atomic_sub_fetch(&d->used, bytes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&d->drops, 1, __ATOMIC_RELAXED);
    return 0;
  }
  w[flag] = 1;
  return 1;
}

/* ---- String ops (agent_abi.h: SREAD .. SUBSTR, ASGET, ASSET) ----
 * One op at code[*pc - 1] (its operands from *pc), on the stack st of *sp
 * words, for pk_dvm_op (below), which both pk_dvm_run and native code
 * (through the agent's pk_agent_dvm_op) call, so both forms run the same
 * code. Returns 0 (*pc and *sp moved on), PK_DVM_SFAULT (the
 * clause is abandoned) or PK_DVM_SBADADDR (DTrace's bad-address fault at
 * *faddr: an ERROR item). */
#define PK_DVM_SFAULT 1u
#define PK_DVM_SBADADDR 2u
#define PK_DVM_SDROP 4u /* a dynamic variable drop: the clause ends, no error */
#define PK_SNEED(n) \
  if (sp < (n)) return PK_DVM_SFAULT
#define PK_SROOM(n) \
  if (sp + (n) > PK_DVM_STACK) return PK_DVM_SFAULT
static inline uint32_t pk_dvm_string_op(struct pk_dvm_hit *h, const struct pk_dvm_fns *f, const uint8_t *code,
                                        uint32_t size, uint32_t *pcp, uint64_t *st, uint32_t *spp, uint64_t *faddr) {
  uint32_t pc = *pcp, sp = *spp;
  const uint8_t op = code[pc - 1];
  switch (op) { /* its operands lie in the code */
    case PK_OP_SCOMM: break;
    case PK_OP_SVAR: case PK_OP_SLIT: case PK_OP_SCMP: case PK_OP_SLEN: case PK_OP_SKEY:
      if (pc + 2 > size) return PK_DVM_SFAULT;
      break;
    case PK_OP_SUBSTR:
      if (pc + 5 > size) return PK_DVM_SFAULT;
      break;
    case PK_OP_SGLOBAL: case PK_OP_SSETGLOBAL: case PK_OP_ASSET:
      if (pc + 6 > size) return PK_DVM_SFAULT;
      break;
    case PK_OP_SSTOREDYN:
      if (pc + 10 > size) return PK_DVM_SFAULT;
      break;
    default:
      if (pc + 4 > size) return PK_DVM_SFAULT;
      break;
  }
  switch (op) {
    case PK_OP_STRCMP: {
      const uint32_t max = pk_dvm_u16(code + pc), len = pk_dvm_u16(code + pc + 2);
      const uint8_t *lit = code + pc + 4;
      pc += 4 + len;
      if (pc > size || len > PK_DVM_STRCMP_MAX) return PK_DVM_SFAULT;
      PK_SNEED(1);
      const uint64_t at = st[sp - 1];
      /* The first len + 1 bytes decide (fewer when strsize is less). */
      uint8_t buf[PK_DVM_STRCMP_MAX + 1];
      const uint32_t want = len + 1 < max ? len + 1 : max;
      const uint32_t got = want ? f->read(h, at, buf, want, 1) : 0;
      if (want && got == 0) {
        *faddr = at;
        return PK_DVM_SBADADDR;
      }
      uint32_t n = 0;
      while (n < got && buf[n]) ++n;
      int64_t c = 0;
      for (uint32_t i = 0; i < n && i < len && !c; ++i) c = buf[i] < lit[i] ? -1 : buf[i] > lit[i] ? 1 : 0;
      if (!c) c = n < len ? -1 : n > len ? 1 : 0;
      st[sp - 1] = (uint64_t)c;
      break;
    }
    case PK_OP_SSTOREDYN: {
      /* SSTORE to a self-> string, charged as SETSELFDYN charges: the
       * variable's first store charges self_bytes; no room: a drop, and
       * the store goes nowhere (a string store deletes nothing). */
      const uint32_t word = pk_dvm_u16(code + pc), max = pk_dvm_u16(code + pc + 2), flag = pk_dvm_u16(code + pc + 4);
      uint32_t dyn;
      __builtin_memcpy(&dyn, code + pc + 6, 4);
      pc += 10;
      uint8_t *part = pk_dvm_part(h, f);
      if (!part || word + max / 8u + 1u > h->c->dself_words || flag >= h->c->dself_words ||
          (uint64_t)dyn + sizeof(struct pk_ddyn) / 8 > h->c->dglobal_words)
        return PK_DVM_SFAULT;
      PK_SNEED(1);
      const uint8_t *src = (const uint8_t *)(uintptr_t)st[--sp];
      if (!pk_dvm_charge_self(h, part, flag, dyn)) return PK_DVM_SDROP;
      uint8_t *str = part + 8ull * word;
      if (src != str) pk_dvm_scopy(str, src, max);
      break;
    }
    case PK_OP_ASGET:
    case PK_OP_ASSET: {
      /* An array of strings: as AGET and ASET, the value the string in
       * the entry (agent_abi.h pk_darray value_words). */
      uint32_t table;
      __builtin_memcpy(&table, code + pc, 4);
      const uint32_t max = op == PK_OP_ASSET ? pk_dvm_u16(code + pc + 4) : 0;
      pc += op == PK_OP_ASSET ? 6 : 4;
      uint64_t *globals = (uint64_t *)(h->parts + (uint64_t)h->c->nthreads_max * h->c->dstate_stride);
      const uint32_t nglobals = h->c->dglobal_words;
      if ((uint64_t)table + sizeof(struct pk_darray) / 8 > nglobals) return PK_DVM_SFAULT;
      const struct pk_darray *a = (const struct pk_darray *)(globals + table);
      const uint64_t kw = a->key_words;
      if (kw > PK_DVM_STACK || !a->value_words || a->value_words > PK_STRING_MAX / 8 || max >= 8 * a->value_words ||
          a->dyn + sizeof(struct pk_ddyn) / 8 > nglobals ||
          table + sizeof(struct pk_darray) / 8 + a->capacity * pk_dvm_aentry_words(a) > nglobals)
        return PK_DVM_SFAULT;
      if (op == PK_OP_ASGET) {
        PK_SNEED(kw);
        sp -= (uint32_t)kw;
        const uint64_t *e = pk_dvm_aentry(globals, table, st + sp, 0);
        st[sp++] = e && __atomic_load_n(&e[0], __ATOMIC_ACQUIRE) == PK_DENTRY_LIVE ? (uint64_t)(uintptr_t)(e + 1 + kw)
                                                                                  : (uint64_t)(uintptr_t)pk_dvm_empty;
        break;
      }
      PK_SNEED(kw + 1);
      sp -= (uint32_t)kw + 1;
      const uint8_t *src = (const uint8_t *)(uintptr_t)st[sp + kw];
      uint64_t *e = pk_dvm_aentry(globals, table, st + sp, src[0] != 0);
      if (!src[0]) { /* "" deletes the element (ASET's 0) */
        pk_dvm_aclear(globals, a, e, st + sp);
        break;
      }
      if (!e) {
        __atomic_add_fetch(&((struct pk_ddyn *)(globals + a->dyn))->drops, 1, __ATOMIC_RELAXED);
        return PK_DVM_SDROP;
      }
      if (!pk_dvm_alive(globals, a, e)) return PK_DVM_SDROP;
      uint8_t *str = (uint8_t *)(e + 1 + kw);
      if (src != str) pk_dvm_scopy(str, src, max);
      break;
    }
    case PK_OP_SREAD:
    case PK_OP_SVAR:
    case PK_OP_SSTORE: {
      const uint32_t word = pk_dvm_u16(code + pc), max = op == PK_OP_SVAR ? 0 : pk_dvm_u16(code + pc + 2);
      pc += op == PK_OP_SVAR ? 2 : 4;
      uint8_t *part = pk_dvm_part(h, f);
      if (!part || word + max / 8u + 1u > h->c->dself_words) return PK_DVM_SFAULT;
      uint8_t *str = part + 8ull * word;
      if (op == PK_OP_SVAR) {
        PK_SROOM(1);
        st[sp++] = (uint64_t)(uintptr_t)str;
        break;
      }
      PK_SNEED(1);
      const uint64_t from = st[sp - 1];
      uint32_t len = 0;
      if (op == PK_OP_SREAD) {
        const uint32_t got = max ? f->read(h, from, str, max, 1) : 0;
        if (max && got == 0) {
          *faddr = from;
          return PK_DVM_SBADADDR;
        }
        len = pk_dvm_slen(str, got);
        str[len] = 0;
        st[sp - 1] = (uint64_t)(uintptr_t)str;
      } else {
        const uint8_t *src = (const uint8_t *)(uintptr_t)from;
        if (src != str) {
          pk_dvm_scopy(str, src, max);
        } else {
          len = pk_dvm_slen(str, max);
          str[len] = 0;
        }
        --sp;
      }
      break;
    }
    case PK_OP_SGLOBAL:
    case PK_OP_SSETGLOBAL: {
      /* A string global: strsize bytes and a NUL among the global words,
       * shared by the process's threads, stored with no lock (agent_abi.h). */
      uint32_t word;
      __builtin_memcpy(&word, code + pc, 4);
      const uint32_t max = pk_dvm_u16(code + pc + 4);
      pc += 6;
      if ((uint64_t)word + max / 8u + 1u > h->c->dglobal_words) return PK_DVM_SFAULT;
      uint8_t *str = (uint8_t *)((uint64_t *)(h->parts + (uint64_t)h->c->nthreads_max * h->c->dstate_stride) + word);
      if (op == PK_OP_SGLOBAL) {
        PK_SROOM(1);
        st[sp++] = (uint64_t)(uintptr_t)str;
        break;
      }
      PK_SNEED(1);
      const uint8_t *src = (const uint8_t *)(uintptr_t)st[--sp];
      if (src == str) break;
      pk_dvm_scopy(str, src, max);
      break;
    }
    case PK_OP_SLIT: {
      const uint32_t len = pk_dvm_u16(code + pc);
      PK_SROOM(1);
      if (pc + 2 + len + 1 > size || code[pc + 2 + len]) return PK_DVM_SFAULT;
      st[sp++] = (uint64_t)(uintptr_t)(code + pc + 2);
      pc += 2 + len + 1;
      break;
    }
    case PK_OP_SCOMM: {
      PK_SROOM(1);
      struct pk_thread *t = pk_dvm_thread(h, f);
      if (!t || t->comm[15]) return PK_DVM_SFAULT;
      st[sp++] = (uint64_t)(uintptr_t)t->comm;
      break;
    }
    case PK_OP_SCMP: {
      const uint32_t max = pk_dvm_u16(code + pc);
      pc += 2;
      PK_SNEED(2);
      const uint8_t *b = (const uint8_t *)(uintptr_t)st[--sp], *a = (const uint8_t *)(uintptr_t)st[sp - 1];
      int64_t c = 0;
      for (uint32_t i = 0; i < max; ++i) {
        if (a[i] != b[i]) {
          c = a[i] < b[i] ? -1 : 1;
          break;
        }
        if (!a[i]) break;
      }
      st[sp - 1] = (uint64_t)c;
      break;
    }
    case PK_OP_SLEN: {
      const uint32_t max = pk_dvm_u16(code + pc);
      pc += 2;
      PK_SNEED(1);
      st[sp - 1] = pk_dvm_slen((const uint8_t *)(uintptr_t)st[sp - 1], max);
      break;
    }
    case PK_OP_SKEY: {
      const uint32_t words = pk_dvm_u16(code + pc);
      pc += 2;
      PK_SNEED(1);
      if (words > PK_DVM_STACK || sp - 1 + words > PK_DVM_STACK) return PK_DVM_SFAULT;
      const uint8_t *a = (const uint8_t *)(uintptr_t)st[--sp];
      pk_dvm_skey(st + sp, a, words);
      sp += words;
      break;
    }
    case PK_OP_SJOIN:
    case PK_OP_SUBSTR: {
      const uint32_t word = pk_dvm_u16(code + pc), max = pk_dvm_u16(code + pc + 2);
      const uint32_t has_n = op == PK_OP_SUBSTR ? code[pc + 4] : 0;
      pc += op == PK_OP_SUBSTR ? 5 : 4;
      uint8_t *part = pk_dvm_part(h, f);
      if (!part || word + max / 8u + 1u > h->c->dself_words) return PK_DVM_SFAULT;
      uint8_t *str = part + 8ull * word;
      uint32_t len = 0;
      if (op == PK_OP_SJOIN) {
        PK_SNEED(2);
        const uint8_t *b = (const uint8_t *)(uintptr_t)st[--sp], *a = (const uint8_t *)(uintptr_t)st[sp - 1];
        for (uint32_t i = 0; len < max && a[i]; ++i) str[len++] = a[i];
        for (uint32_t i = 0; len < max && b[i]; ++i) str[len++] = b[i];
      } else {
        PK_SNEED(2u + has_n);
        const int64_t n_in = has_n ? (int64_t)st[--sp] : 0;
        int64_t idx = (int64_t)st[--sp];
        const uint8_t *a = (const uint8_t *)(uintptr_t)st[sp - 1];
        int64_t slen = 0;
        while (slen < 0xffff && a[slen]) ++slen;
        int64_t n = has_n ? n_in : slen;
        if (idx < 0) idx = slen + idx < 0 ? 0 : slen + idx;
        if (idx > slen) idx = slen;
        if (n < 0) n = slen - idx + n < 0 ? 0 : slen - idx + n;
        if (n > slen - idx) n = slen - idx;
        for (int64_t i = 0; i < n && len < max; ++i) str[len++] = a[idx + i];
      }
      str[len] = 0;
      st[sp - 1] = (uint64_t)(uintptr_t)str;
      break;
    }
    default: return PK_DVM_SFAULT;
  }
  *pcp = pc;
  *spp = sp;
  return 0;
}
#undef PK_SNEED
#undef PK_SROOM

/* The hitting thread's user stack as the tracer's walk sees it at a trap
 * (d::Host::user_stack, then cli's correction from the call frame rule):
 * the probed instruction; the function's caller, when the frame-pointer
 * chain's first frame is not it (an entry, a `ret`, a frameless
 * function: the rule there is CFA = rsp + 8, the return address at
 * [rsp]); then the rbp chain, each frame read with the fault-safe reader
 * (a fault, a zero return address or a frame pointer that does not grow
 * ends it, where the tracer's ends). At most max frames (1 when max is
 * 0, as the tracer keeps the first), the chain bounded as the tracer
 * bounds it, before the caller is inserted. frames (when not 0) gets
 * them; returns how many. */
static inline uint32_t pk_dvm_ustack(struct pk_dvm_hit *h, const struct pk_dvm_fns *f, uint64_t *frames,
                                     uint32_t max) {
  uint64_t caller = h->stack_caller;
  if (!caller) {
    if (f->read(h, h->rsp, (uint8_t *)&caller, 8, 0) != 8) caller = 0;
    else if (h->real_return) caller = h->real_return(h, h->rsp, caller);
  }
  const uint32_t cap = max ? max : 1;
  uint32_t n = 0, chain = 0;
#define PK_EMIT(v)                  \
  do {                              \
    if (n < cap) {                  \
      if (frames) frames[n] = (v);  \
      ++n;                          \
    }                               \
  } while (0)
  PK_EMIT(h->stack_top ? h->stack_top : h->rip);
  uint64_t fp = h->frame[4]; /* rbp */
  while (1 + chain < max && fp) {
    uint64_t w[2]; /* the saved rbp, the return address */
    if (f->read(h, fp, (uint8_t *)w, 16, 0) != 16) break;
    uint64_t ret = w[1];
    if (h->real_return) ret = h->real_return(h, fp + 8, ret);
    if (!ret) break;
    if (chain == 0 && caller && ret != caller) PK_EMIT(caller);
    PK_EMIT(ret);
    ++chain;
    if (w[0] <= fp) break;
    fp = w[0];
  }
  if (chain == 0 && caller) PK_EMIT(caller);
#undef PK_EMIT
  return n;
}

/* A stack's id in a thread's table (agent_abi.h pk_dstacks): its entry's
 * index + 1, the entry claimed when the stack is new; 0 when the table
 * is full, which is `limit` entries used (a drop counted). The frames are
 * the table's scratch entry's. */
static inline uint64_t pk_dvm_stack_id(uint8_t *table, uint32_t capacity, uint32_t words, uint32_t limit, uint32_t n) {
  uint64_t *scratch = (uint64_t *)(table + sizeof(struct pk_dstacks));
  const uint64_t *frames = scratch + 2;
  uint64_t hash = 0x9e3779b97f4a7c15ull ^ n;
  for (uint32_t i = 0; i < n; ++i) {
    hash ^= frames[i];
    hash *= 0xbf58476d1ce4e5b9ull;
    hash ^= hash >> 31;
  }
  uint64_t *entries = scratch + words;
  const uint32_t mask = capacity - 1;
  uint32_t i = (uint32_t)hash & mask;
  for (uint32_t k = 0; k < capacity; ++k, i = (i + 1) & mask) {
    uint64_t *e = entries + (uint64_t)i * words;
    if (e[0] == 0) {
      struct pk_dstacks *head = (struct pk_dstacks *)table;
      if (head->used >= limit) break;
      head->used++;
      e[1] = hash;
      for (uint32_t j = 0; j < n; ++j) e[2 + j] = frames[j];
      __atomic_store_n(&e[0], n, __ATOMIC_RELEASE); /* probekit reads the frames only once this is set */
      return (uint64_t)i + 1;
    }
    if (e[0] != n || e[1] != hash) continue;
    uint32_t j = 0;
    while (j < n && e[2 + j] == frames[j]) ++j;
    if (j == n) return (uint64_t)i + 1;
  }
  ((struct pk_dstacks *)table)->drops++;
  return 0;
}

/* The ops native code runs through the agent (agent.c pk_agent_dvm_op):
 * the string ops, output (OUT, OUTS), memory reads (STK, LOAD), division
 * that reports a fault (DIVZ, MODZ), the arrays (AGET, ASET, AADD, ASGET,
 * ASSET), ustack() (USTACK) and exit() (EXIT). One op at code[*pc - 1]
 * (its operands from *pc) on the stack st of *sp words: what pk_dvm_run
 * runs for it, so both forms run the same code. Returns 0 (*pc and *sp
 * moved on), PK_DVM_SFAULT (the clause is abandoned), PK_DVM_SDROP (a
 * dynamic variable drop: the clause and its output end, no error) or a
 * DTrace fault (PK_DVM_SBADADDR at *faddr, PK_DVM_SDIVZERO) to report in
 * *action (an ERROR item: pk_dvm_fault). The clause's output state is the hit's
 * (clause_out, clause_items, clause_dropped). */
#define PK_DVM_SDIVZERO 3u
#define PK_ONEED(n) \
  if (sp < (n)) return PK_DVM_SFAULT
#define PK_OROOM(n) \
  if (sp + (n) > PK_DVM_STACK) return PK_DVM_SFAULT
static inline uint32_t pk_dvm_op(struct pk_dvm_hit *h, const struct pk_dvm_fns *f, const uint8_t *code, uint32_t size,
                                 uint32_t *pcp, uint64_t *st, uint32_t *spp, uint64_t *faddr, uint32_t *action) {
  uint32_t pc = *pcp, sp = *spp;
  const uint8_t op = code[pc - 1];
  uint32_t operands = 0;
  switch (op) {
    case PK_OP_EXIT: break;
    case PK_OP_STK: case PK_OP_DIVZ: case PK_OP_MODZ: operands = 1; break;
    case PK_OP_LOAD: operands = 2; break;
    case PK_OP_OUT: case PK_OP_OUTS: operands = 3; break;
    case PK_OP_AGET: case PK_OP_ASET: case PK_OP_AADD: operands = 4; break;
    case PK_OP_USTACK: operands = 13; break;
    default: return pk_dvm_string_op(h, f, code, size, pcp, st, spp, faddr);
  }
  if (pc + operands > size) return PK_DVM_SFAULT;
  switch (op) {
    case PK_OP_STK: {
      PK_OROOM(1);
      uint64_t v = 0;
      const uint64_t at = h->rsp + 8ull * code[pc++];
      if (f->read(h, at, (uint8_t *)&v, 8, 0) != 8) return PK_DVM_SFAULT;
      st[sp++] = v;
      break;
    }
    case PK_OP_OUT: {
      const uint32_t id = pk_dvm_u16(code + pc), n = code[pc + 2];
      pc += 3;
      PK_ONEED(n);
      sp -= n;
      if (h->clause_dropped) break;
      uint8_t *p = pk_dvm_item(h, PK_ITEM_DOUT, id, 8u * n);
      if (!p) { /* DTrace drops the clause's data when its buffer is full */
        h->out_len = h->clause_out;
        h->out_items = h->clause_items;
        h->out_drops++;
        h->clause_dropped = 1;
        break;
      }
      for (uint32_t i = 0; i < n; ++i) __builtin_memcpy(p + 8u * i, &st[sp + i], 8); /* no memcpy call */
      break;
    }
    case PK_OP_OUTS: {
      const uint32_t id = pk_dvm_u16(code + pc), n = code[pc + 2];
      const uint8_t *kinds = code + pc + 3;
      pc += 3 + 2 * n;
      if (pc > size) return PK_DVM_SFAULT;
      PK_ONEED(n);
      sp -= n;
      if (h->clause_dropped) break;
      uint32_t most = 0; /* the item's largest payload */
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t kind = pk_dvm_u16(kinds + 2 * i);
        most += 8u + ((kind & PK_OUTS_STACK) && !(kind & PK_OUTS_LOCAL) ? 8u * (kind & (PK_OUTS_STACK - 1u))
                                                                        : ((kind & ~PK_OUTS_LOCAL) + 7u) & ~7u);
      }
      const uint32_t start = h->out_len;
      uint8_t *p = pk_dvm_item(h, PK_ITEM_DOUT, id, most);
      if (!p) {
        h->out_len = h->clause_out;
        h->out_items = h->clause_items;
        h->out_drops++;
        h->clause_dropped = 1;
        break;
      }
      uint32_t at = 0;
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t max = pk_dvm_u16(kinds + 2 * i);
        const uint64_t v = st[sp + i];
        if (!max) {
          __builtin_memcpy(p + at, &v, 8);
          at += 8;
          continue;
        }
        if ((max & PK_OUTS_STACK) && !(max & PK_OUTS_LOCAL)) { /* a walked stack: its frames */
          const uint64_t *walked = (const uint64_t *)(uintptr_t)v;
          const uint64_t frames = walked[0] < (max & (PK_OUTS_STACK - 1u)) ? walked[0] : (max & (PK_OUTS_STACK - 1u));
          const uint64_t len = 8u * frames;
          __builtin_memcpy(p + at, &len, 8);
          for (uint64_t k = 0; k < frames; ++k) __builtin_memcpy(p + at + 8 + 8 * k, &walked[2 + k], 8);
          at += 8u + (uint32_t)len;
          continue;
        }
        if (max & PK_OUTS_LOCAL) { /* a string value: already here */
          const uint8_t *str = (const uint8_t *)(uintptr_t)v;
          const uint32_t cap = max & ~PK_OUTS_LOCAL;
          const uint64_t len = pk_dvm_slen(str, cap);
          __builtin_memcpy(p + at, &len, 8);
          for (uint32_t k = 0; k < len; ++k) p[at + 8 + k] = str[k];
          at += 8u + (((uint32_t)len + 7u) & ~7u);
          continue;
        }
        const uint32_t got = f->read(h, v, p + at + 8, max, 1);
        if (got == 0) {
          *action = id;
          *faddr = v;
          return PK_DVM_SBADADDR;
        }
        uint64_t len = 0;
        while (len < got && p[at + 8 + len]) ++len;
        __builtin_memcpy(p + at, &len, 8);
        at += 8u + (((uint32_t)len + 7u) & ~7u);
      }
      ((struct pk_item *)p - 1)->length = at; /* the last item: give back what it did not use */
      h->out_len = start + (uint32_t)sizeof(struct pk_item) + at;
      break;
    }
    case PK_OP_LOAD: {
      const uint32_t bytes = code[pc], sgn = code[pc + 1];
      pc += 2;
      PK_ONEED(1);
      const uint64_t at = st[sp - 1];
      uint64_t v = 0;
      if (bytes > 8 || f->read(h, at, (uint8_t *)&v, bytes, 0) != bytes) {
        *faddr = at;
        return PK_DVM_SBADADDR;
      }
      st[sp - 1] = (uint64_t)pk_dvm_ext(v, bytes, sgn);
      break;
    }
    case PK_OP_DIVZ:
    case PK_OP_MODZ: {
      const uint32_t sgn = code[pc++];
      PK_ONEED(2);
      const uint64_t b = st[--sp], a = st[sp - 1];
      if (b == 0) {
        *faddr = 0;
        return PK_DVM_SDIVZERO;
      }
      if (op == PK_OP_DIVZ)
        st[sp - 1] = !sgn ? a / b : b == ~0ull ? (uint64_t)0 - a : (uint64_t)((int64_t)a / (int64_t)b);
      else
        /* DTrace's signed %: negative when the operands' signs differ
         * (compiler.cpp's rule), where C's follows a's sign alone. */
        st[sp - 1] = !sgn ? a % b
                     : b == ~0ull ? 0
                     : (int64_t)b < 0 ? (uint64_t)0 - (uint64_t)((int64_t)a % (int64_t)b)
                                      : (uint64_t)((int64_t)a % (int64_t)b);
      break;
    }
    case PK_OP_AGET:
    case PK_OP_ASET:
    case PK_OP_AADD: {
      uint32_t table;
      __builtin_memcpy(&table, code + pc, 4);
      pc += 4;
      uint64_t *globals = (uint64_t *)(h->parts + (uint64_t)h->c->nthreads_max * h->c->dstate_stride);
      const uint32_t nglobals = h->c->dglobal_words;
      if ((uint64_t)table + sizeof(struct pk_darray) / 8 > nglobals) return PK_DVM_SFAULT;
      const struct pk_darray *a = (const struct pk_darray *)(globals + table);
      const uint64_t kw = a->key_words;
      if (kw > PK_DVM_STACK || a->value_words || a->dyn + sizeof(struct pk_ddyn) / 8 > nglobals ||
          table + sizeof(struct pk_darray) / 8 + a->capacity * (2 + kw) > nglobals)
        return PK_DVM_SFAULT;
      if (op == PK_OP_AGET) {
        PK_ONEED(kw);
        sp -= (uint32_t)kw;
        const uint64_t *e = pk_dvm_aentry(globals, table, st + sp, 0);
        st[sp++] = e && __atomic_load_n(&e[0], __ATOMIC_ACQUIRE) == PK_DENTRY_LIVE
                       ? __atomic_load_n(&e[1 + kw], __ATOMIC_RELAXED)
                       : 0;
        break;
      }
      PK_ONEED(kw + 1);
      sp -= (uint32_t)kw + 1;
      const uint64_t v = st[sp + kw];
      uint64_t *e = pk_dvm_aentry(globals, table, st + sp, v != 0 || op == PK_OP_AADD);
      if (op == PK_OP_ASET && v == 0) {
        /* Deleting: a missing element stays missing, nothing charged
         * (d/compiler.cpp Assign, dtrace-utils' dt_get_assoc). */
        pk_dvm_aclear(globals, a, e, st + sp);
        break;
      }
      if (!e) { /* no free entry: the element does not fit */
        __atomic_add_fetch(&((struct pk_ddyn *)(globals + a->dyn))->drops, 1, __ATOMIC_RELAXED);
        return PK_DVM_SDROP;
      }
      if (!pk_dvm_alive(globals, a, e)) return PK_DVM_SDROP;
      if (op == PK_OP_ASET) {
        __atomic_store_n(&e[1 + kw], v, __ATOMIC_RELAXED);
      } else if (__atomic_add_fetch(&e[1 + kw], v, __ATOMIC_RELAXED) == 0) {
        pk_dvm_adelete(globals, a, e);
      }
      break;
    }
    case PK_OP_EXIT:
      __atomic_store_n(&((struct pk_control *)(uintptr_t)h->c)->dexited, 1u, __ATOMIC_RELAXED);
      break;
    case PK_OP_USTACK: {
      const uint32_t max = pk_dvm_u16(code + pc), what = code[pc + 2];
      uint32_t off;
      __builtin_memcpy(&off, code + pc + 3, 4);
      const uint32_t capacity = pk_dvm_u16(code + pc + 7), words = pk_dvm_u16(code + pc + 9);
      const uint32_t limit = pk_dvm_u16(code + pc + 11);
      pc += 13;
      PK_OROOM(1);
      if (max > PK_USTACK_MAX) return PK_DVM_SFAULT;
      if (what == PK_USTACK_DEPTH) {
        st[sp++] = pk_dvm_ustack(h, f, 0, max);
        break;
      }
      if (what == PK_USTACK_CALLER) {
        uint64_t two[2];
        st[sp++] = pk_dvm_ustack(h, f, two, max < 2 ? max : 2) > 1 ? two[1] : 0;
        break;
      }
      uint8_t *part = pk_dvm_part(h, f);
      if (!part || (what != PK_USTACK_KEY && what != PK_USTACK_LOCAL) || !capacity || (capacity & (capacity - 1)) ||
          limit >= capacity || words < 3 ||
          (max ? max : 1) > words - 2u ||
          (uint64_t)off + sizeof(struct pk_dstacks) + 8ull * words * (capacity + 1u) > h->c->dstate_stride)
        return PK_DVM_SFAULT;
      uint8_t *table = part + off;
      uint64_t *scratch = (uint64_t *)(table + sizeof(struct pk_dstacks));
      const uint32_t n = pk_dvm_ustack(h, f, scratch + 2, max);
      if (what == PK_USTACK_LOCAL) {
        scratch[0] = n;
        st[sp++] = (uint64_t)(uintptr_t)scratch;
        break;
      }
      st[sp++] = pk_dvm_stack_id(table, capacity, words, limit, n);
      break;
    }
    default: return PK_DVM_SFAULT;
  }
  *pcp = pc;
  *spp = sp;
  return 0;
}
#undef PK_ONEED
#undef PK_OROOM

/* A clause's fault (r: pk_dvm_op's answer, or PK_DVM_SFAULT): what the
 * clause wrote goes with it; a DTrace fault becomes an ERROR item of the
 * action (DTRACEFLT_BADADDR at faddr, DTRACEFLT_DIVZERO), as the tracer's
 * error line. Returns 1 when the clause counts as abandoned (a fault that
 * is no DTrace error, or no room for the item). */
static inline uint32_t pk_dvm_fault(struct pk_dvm_hit *h, uint32_t r, uint32_t action, uint64_t faddr) {
  h->out_len = h->clause_out;
  h->out_items = h->clause_items;
  if (r != PK_DVM_SBADADDR && r != PK_DVM_SDIVZERO) return 1;
  uint64_t *w = (uint64_t *)pk_dvm_item(h, PK_ITEM_DFAULT, action, 16);
  if (!w) return 1;
  w[0] = r == PK_DVM_SBADADDR ? 1u : 4u;
  w[1] = faddr;
  return 0;
}

/* An op of a native clause (pk_dvm_op: strings, output, memory reads,
 * arrays, ustack()) at `op`, size bytes of code from it, on the native
 * frame's stack st of depth words, in the clause's action `action`, as
 * agent.c pk_agent_dvm_op runs it for dvm_native.cpp's code: 0 done;
 * PK_DVM_SFAULT (the native code counts the clause abandoned and drops
 * its output); PK_DVM_SBADADDR, a DTrace fault reported as the
 * interpreter reports it (the clause's output dropped, an ERROR item; the
 * clause ends); PK_DVM_SDROP, a dynamic variable drop (the clause's output
 * dropped; it ends, no error). */
static inline uint32_t pk_dvm_native_op(struct pk_dvm_hit *v, const struct pk_dvm_fns *f, const uint8_t *op,
                                        uint32_t size, uint64_t *st, uint32_t depth, uint32_t action) {
  uint32_t pc = 1, sp = depth;
  uint64_t faddr = 0;
  const uint32_t r = pk_dvm_op(v, f, op, size, &pc, st, &sp, &faddr, &action);
  if (!r) return 0;
  if (r == PK_DVM_SDROP) {
    v->out_len = v->clause_out;
    v->out_items = v->clause_items;
    return PK_DVM_SDROP;
  }
  return pk_dvm_fault(v, r, action, faddr) ? PK_DVM_SFAULT : PK_DVM_SBADADDR;
}

/* Runs a site's clauses. Returns the number of clauses abandoned (a
 * fault, or no thread slot for a clause that needed one). */
static inline uint32_t pk_dvm_run(struct pk_dvm_hit *h, const uint8_t *code, uint32_t size) {
  uint64_t st[PK_DVM_STACK];
  uint32_t sp = 0, pc = 0, clause_end = size, abandoned = 0;
  const struct pk_dvm_fns fns = {h->thread, h->read, h->tsc, h->cpu}, *f = &fns;
  /* The action a fault is reported in; the fault (pk_dvm_op's answer; 0:
   * abandoned, not an error). The clause's output so far is the hit's. */
  uint32_t action = 0, fkind = 0;
  uint64_t faddr = 0;
  const struct pk_dagg *daggs = (const struct pk_dagg *)(h->data + h->c->daggs_offset);
  h->clause_out = h->out_len;
  h->clause_items = h->out_items;
  h->clause_dropped = 0;
#define PK_NEED(n) \
  if (sp < (n)) goto fault
#define PK_ROOM(n) \
  if (sp + (n) > PK_DVM_STACK) goto fault
#define PK_BIN(expr)        \
  PK_NEED(2);               \
  {                         \
    const uint64_t b = st[--sp], a = st[sp - 1]; \
    st[sp - 1] = (expr);    \
  }                         \
  break
  while (pc < size) {
    const uint8_t op = code[pc++];
    switch (op) {
      case PK_OP_END: return abandoned;
      case PK_OP_IMM:
        PK_ROOM(1);
        if (pc + 8 > size) goto fault;
        st[sp++] = pk_dvm_u64(code + pc);
        pc += 8;
        break;
      case PK_OP_REG:
        PK_ROOM(1);
        st[sp++] = pk_dvm_reg(h, code[pc++]);
        break;
      case PK_OP_VAR: {
        PK_ROOM(1);
        const uint8_t which = code[pc++];
        uint64_t v = 0;
        if (which == PK_DVAR_TIMESTAMP) {
          v = pk_dvm_timestamp(h, f);
        } else if (which == PK_DVAR_CPU) {
          v = f->cpu(h);
        } else if (which == PK_DVAR_RETOFF) {
          v = (uint64_t)h->ret_offset;
        } else if (which == PK_DVAR_WALLTIMESTAMP) {
          v = pk_dvm_timestamp(h, f) + (uint64_t)h->c->wall_offset;
        } else {
          struct pk_thread *t = pk_dvm_thread(h, f);
          if (!t) goto fault;
          v = which == PK_DVAR_PID ? t->pid : t->tid;
        }
        st[sp++] = v;
        break;
      }
      case PK_OP_SELF:
      case PK_OP_SETSELF: {
        const uint32_t slot = pk_dvm_u16(code + pc);
        pc += 2;
        uint8_t *part = pk_dvm_part(h, f);
        if (!part || slot >= h->c->dself_words) goto fault;
        uint64_t *var = (uint64_t *)part + slot;
        if (op == PK_OP_SELF) {
          PK_ROOM(1);
          st[sp++] = *var;
        } else {
          PK_NEED(1);
          *var = st[--sp];
        }
        break;
      }
      case PK_OP_SETSELFDYN: {
        /* As the tracer charges a self-> variable (d/compiler.cpp
         * SelfVar): at its first store, once; a store that finds no room
         * is a drop and goes nowhere. Storing 0 deletes it (its charge
         * given back) and creates none (dtrace-utils' dt_get_dvar). */
        if (pc + 8 > size) goto fault;
        const uint32_t slot = pk_dvm_u16(code + pc), flag = pk_dvm_u16(code + pc + 2);
        uint32_t dyn;
        __builtin_memcpy(&dyn, code + pc + 4, 4);
        pc += 8;
        uint8_t *part = pk_dvm_part(h, f);
        if (!part || slot >= h->c->dself_words || flag >= h->c->dself_words ||
            (uint64_t)dyn + sizeof(struct pk_ddyn) / 8 > h->c->dglobal_words)
          goto fault;
        PK_NEED(1);
        const uint64_t v = st[--sp];
        uint64_t *w = (uint64_t *)part;
        if (!v) {
          if (w[flag]) {
            uint64_t *globals = (uint64_t *)(h->parts + (uint64_t)h->c->nthreads_max * h->c->dstate_stride);
            struct pk_ddyn *d = (struct pk_ddyn *)(globals + dyn);
            __atomic_sub_fetch(&d->used, d->self_bytes, __ATOMIC_RELAXED);
            w[flag] = 0;
          }
          w[slot] = 0;
          break;
        }
        if (!pk_dvm_charge_self(h, part, flag, dyn)) goto drop;
        w[slot] = v;
        break;
      }
      case PK_OP_DUP:
        PK_NEED(1);
        PK_ROOM(1);
        st[sp] = st[sp - 1];
        ++sp;
        break;
      case PK_OP_POP:
        PK_NEED(1);
        --sp;
        break;
      case PK_OP_ADD: PK_BIN(a + b);
      case PK_OP_SUB: PK_BIN(a - b);
      case PK_OP_MUL: PK_BIN(a * b);
      case PK_OP_SDIV:
        if (sp >= 2 && st[sp - 1] == 0) goto fault;
        PK_BIN(b == ~0ull ? (uint64_t)0 - a : (uint64_t)((int64_t)a / (int64_t)b));
      case PK_OP_SMOD:
        if (sp >= 2 && (st[sp - 1] == 0 || st[sp - 1] == ~0ull)) {
          if (st[sp - 1] == 0) goto fault;
          --sp;
          st[sp - 1] = 0;
          break;
        }
        PK_BIN((uint64_t)((int64_t)a % (int64_t)b));
      case PK_OP_UDIV:
        if (sp >= 2 && st[sp - 1] == 0) goto fault;
        PK_BIN(a / b);
      case PK_OP_UMOD:
        if (sp >= 2 && st[sp - 1] == 0) goto fault;
        PK_BIN(a % b);
      case PK_OP_AND: PK_BIN(a & b);
      case PK_OP_OR: PK_BIN(a | b);
      case PK_OP_XOR: PK_BIN(a ^ b);
      case PK_OP_SHL: PK_BIN(a << (b & 63)); /* as D does (d/compiler.cpp arith) */
      case PK_OP_SAR: PK_BIN((uint64_t)((int64_t)a >> (b & 63)));
      case PK_OP_SHR: PK_BIN(a >> (b & 63));
      case PK_OP_EQ: PK_BIN(a == b);
      case PK_OP_NE: PK_BIN(a != b);
      case PK_OP_SLT: PK_BIN((int64_t)a < (int64_t)b);
      case PK_OP_SLE: PK_BIN((int64_t)a <= (int64_t)b);
      case PK_OP_SGT: PK_BIN((int64_t)a > (int64_t)b);
      case PK_OP_SGE: PK_BIN((int64_t)a >= (int64_t)b);
      case PK_OP_ULT: PK_BIN(a < b);
      case PK_OP_ULE: PK_BIN(a <= b);
      case PK_OP_UGT: PK_BIN(a > b);
      case PK_OP_UGE: PK_BIN(a >= b);
      case PK_OP_NEG:
        PK_NEED(1);
        st[sp - 1] = (uint64_t)0 - st[sp - 1];
        break;
      case PK_OP_NOT:
        PK_NEED(1);
        st[sp - 1] = ~st[sp - 1];
        break;
      case PK_OP_LNOT:
        PK_NEED(1);
        st[sp - 1] = st[sp - 1] == 0;
        break;
      case PK_OP_EXT:
        PK_NEED(1);
        st[sp - 1] = (uint64_t)pk_dvm_ext(st[sp - 1], code[pc], code[pc + 1]);
        pc += 2;
        break;
      case PK_OP_JZ:
      case PK_OP_JMP: {
        const uint32_t off = pk_dvm_u16(code + pc);
        pc += 2;
        if (op == PK_OP_JZ) {
          PK_NEED(1);
          if (st[--sp] != 0) break;
        }
        pc += off; /* forward only */
        break;
      }
      case PK_OP_CLAUSE:
        clause_end = pc + 2 + pk_dvm_u16(code + pc);
        pc += 2;
        sp = 0;
        h->clause_out = h->out_len;
        h->clause_items = h->out_items;
        h->clause_dropped = 0;
        action = 0;
        break;
      case PK_OP_ACT:
        action = pk_dvm_u16(code + pc);
        pc += 2;
        break;
      case PK_OP_AGG: {
        const uint32_t index = pk_dvm_u16(code + pc);
        pc += 2;
        if (index >= h->c->ndaggs) goto fault;
        const struct pk_dagg *a = &daggs[index];
        PK_NEED(2u + a->key_words);
        sp -= 2u + a->key_words;
        uint8_t *part = pk_dvm_part(h, f);
        if (!part) goto fault;
        pk_dvm_aggregate(part, a, st + sp, (int64_t)st[sp + a->key_words], (int64_t)st[sp + a->key_words + 1]);
        break;
      }
      case PK_OP_COMM: {
        PK_ROOM(2);
        struct pk_thread *t = pk_dvm_thread(h, f);
        if (!t) goto fault;
        uint64_t w[2];
        __builtin_memcpy(w, t->comm, 16);
        st[sp++] = w[0];
        st[sp++] = w[1];
        break;
      }
      case PK_OP_COMMEQ: {
        PK_ROOM(1);
        if (pc + 16 > size) goto fault;
        struct pk_thread *t = pk_dvm_thread(h, f);
        if (!t) goto fault;
        uint64_t w[2];
        __builtin_memcpy(w, t->comm, 16);
        st[sp++] = w[0] == pk_dvm_u64(code + pc) && w[1] == pk_dvm_u64(code + pc + 8);
        pc += 16;
        break;
      }
      case PK_OP_OVERRIDE:
        PK_NEED(1);
        h->overridden = 1;
        h->override_value = st[--sp];
        break;
      case PK_OP_RAISE:
        PK_NEED(1);
        --sp;
        if (h->raise) h->raise(h, st[sp]);
        break;
      case PK_OP_GLOBAL:
      case PK_OP_SETGLOBAL:
      case PK_OP_ADDGLOBAL: {
        /* Shared by every thread of the process (after the thread parts):
         * a plain load or store, or an atomic add for x++ and x += n. */
        const uint32_t slot = pk_dvm_u16(code + pc);
        pc += 2;
        if (slot >= h->c->dglobal_words) goto fault;
        uint64_t *var = (uint64_t *)(h->parts + (uint64_t)h->c->nthreads_max * h->c->dstate_stride) + slot;
        if (op == PK_OP_GLOBAL) {
          PK_ROOM(1);
          st[sp++] = __atomic_load_n(var, __ATOMIC_RELAXED);
        } else {
          PK_NEED(1);
          if (op == PK_OP_SETGLOBAL) __atomic_store_n(var, st[--sp], __ATOMIC_RELAXED);
          else __atomic_fetch_add(var, st[--sp], __ATOMIC_RELAXED);
        }
        break;
      }
      case PK_OP_STK: case PK_OP_OUT: case PK_OP_OUTS: case PK_OP_LOAD: case PK_OP_DIVZ: case PK_OP_MODZ:
      case PK_OP_AGET: case PK_OP_ASET: case PK_OP_AADD: case PK_OP_USTACK: case PK_OP_EXIT:
      case PK_OP_SREAD: case PK_OP_SVAR: case PK_OP_SSTORE: case PK_OP_SGLOBAL: case PK_OP_SSETGLOBAL:
      case PK_OP_SLIT: case PK_OP_SCOMM: case PK_OP_SCMP: case PK_OP_SLEN: case PK_OP_SKEY: case PK_OP_SJOIN:
      case PK_OP_SUBSTR: case PK_OP_ASGET: case PK_OP_ASSET: case PK_OP_STRCMP: case PK_OP_SSTOREDYN:
        fkind = pk_dvm_op(h, f, code, size, &pc, st, &sp, &faddr, &action);
        if (fkind == PK_DVM_SDROP) {
          fkind = 0;
          goto drop;
        }
        if (fkind) goto fault;
        break;
      default: goto fault;
    }
    continue;
  fault:
    abandoned += pk_dvm_fault(h, fkind, action, faddr);
    fkind = 0;
    if (clause_end <= pc || clause_end > size) return abandoned;
    pc = clause_end;
    sp = 0;
    continue;
  drop:
    /* A dynamic variable drop ends the clause, its output with it, and is
     * no error: dtrace-utils' dt_cg_store_var returns from the clause
     * there (d/program.cpp Runtime::run_clause, ClauseDrop). */
    h->out_len = h->clause_out;
    h->out_items = h->clause_items;
    if (clause_end <= pc || clause_end > size) return abandoned;
    pc = clause_end;
    sp = 0;
  }
#undef PK_BIN
#undef PK_ROOM
#undef PK_NEED
  return abandoned;
}

#endif
