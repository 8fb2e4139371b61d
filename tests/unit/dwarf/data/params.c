// Fixture for dwarf_test: one function per calling-convention case. Every
// signature and its opening brace sit on one line so the test knows the
// line of each function's first instruction.
#include <stdarg.h>
#include <stddef.h>

struct big { long a, b, c; };
struct small { int x; double y; };
struct pair { long lo, hi; };
typedef struct small small_t;
enum color { red, green, blue };

#define USED __attribute__((noinline, used))

USED long eight_ints(int a, long b, short c, char d, unsigned e, long long f, int g, int h) { return a + b + c + d + e + f + g + h; }
USED int greet(const char *name, double x, float y, double z) { return name[0] + (int)(x + y + z); }
USED long take_big(int a, struct big b, double d, int e) { return a + b.a + b.b + b.c + (long)d + e; }
USED struct big make_big(int a) { struct big r = {a, a, a}; return r; }
USED int print_like(const char *fmt, ...) { va_list ap; va_start(ap, fmt); int r = va_arg(ap, int); va_end(ap); return fmt[0] + r; }
USED double mixed(small_t s, struct pair p, enum color c, _Bool flag, unsigned char *buf, char * const cp, size_t n) { return s.x + s.y + p.lo + p.hi + c + flag + buf[0] + cp[0] + n; }
USED long double with_long_double(long double v, int a) { return v + a; }
USED void many_doubles(double a0, double a1, double a2, double a3, double a4, double a5, double a6, double a7, double a8, float a9) { (void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)a6; (void)a7; (void)a8; (void)a9; }
USED int stack_mix(long a, long b, long c, long d, long e, struct pair six, long g, struct pair h) { return (int)(a + b + c + d + e + six.lo + g + h.hi); }
USED int fn_ptr(int (*cb)(int, const char *), void *opaque, const struct big *bp) { return cb(0, (const char *)opaque) + (int)bp->a; }

// Called twice with the same constant: at -O2 GCC makes scale.constprop.0.
static __attribute__((noinline)) int scale(int x, int k) { return x * k + 1; }
USED int use_scale(int a, int b) { return scale(a, 7) + scale(b, 7); }

int main(void) { return 0; }

// An ELF alias with no DWARF of its own (glibc's malloc is __libc_malloc).
extern int greet_alias(const char *name, double x, float y, double z) __attribute__((alias("greet")));
