/* flags: -q */
/*
 * Inline arrays: the keys are named, and a use replaces them by its
 * arguments in the value, converted to the inline's type; an inline of a
 * struct type may hold a translation, read through its members
 * (dtrace-utils' inline/tst.InlineKinds.d).
 */
struct pair {
	int lo;
	int hi;
};

translator struct pair < int V > {
	lo = V & 0xff;
	hi = V >> 8;
};

inline int sum[int x, int y] = x + y;
inline uint8_t low[int v] = v;
inline string greet[string who] = strjoin("hello ", who);
inline struct pair p = xlate < struct pair > (0x1234);
inline int hi[int v] = (xlate < struct pair > (v)).hi;

BEGIN
{
	n = 5;
	printf("%d %d %d\n", sum[10, 20], sum[n, n * 2], low[0x1ff]);
	printf("%s\n", greet[execname == "" ? "nobody" : "world"]);
	printf("%x %x %x\n", p.lo, p.hi, hi[0xabcd]);
	exit(0);
}
