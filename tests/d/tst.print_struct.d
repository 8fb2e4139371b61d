/* flags: -q */
/* bytes: 0x3000 0100000074657374000000000000000015cd5b070000000078563412007f0000b168de3a000000000100000001000000 */
/* fire: pid$target:a.out:work:entry arg0=0x3000 */
/* print(p) shows the struct p points to member by member, as dtrace-utils
   does: nested unions and anonymous structs, char arrays as characters,
   enums by name, pointers in hex */
enum eh { FIRSTVAL = 0, SECONDVAL = 1, THIRDVAL = 3 };

struct test_struct {
	int     a;
	char    b[5];
	union {
		uint8_t c;
		uint64_t d;
	} u;
	struct {
		void *e;
		uint64_t f;
	} s;
	bool g;
	enum eh h;
};

pid$target:a.out:work:entry
{
	printf("a %d; b %d; u %d; s %d; g %d; h %d\n",
	    offsetof(struct test_struct, a), offsetof(struct test_struct, b),
	    offsetof(struct test_struct, u), offsetof(struct test_struct, s),
	    offsetof(struct test_struct, g), offsetof(struct test_struct, h));
	print((struct test_struct *)arg0);
}
