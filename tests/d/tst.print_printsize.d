/* flags: -q */
/* bytes: 0x3000 0100000074657374000000000000000015cd5b070000000078563412007f0000b168de3a000000000100000001000000000000000000f83f */
/* fire: pid$target:a.out:work:entry arg0=0x3000 */
/* printsize bounds what print() shows ("..." where it stops), rounded up to
   8 bytes; setopt() changes it between print()s (0 is the default,
   8192); a floating member is not shown, as in dtrace-utils */
#pragma D option printsize=8

struct inner {
	void *e;
	uint64_t f;
};

struct test_struct {
	int	a;
	char	b[5];
	union {
		uint8_t c;
		uint64_t d;
	} u;
	struct inner s;
	bool g;
	int h;
	double w;
};

pid$target:a.out:work:entry
{
	print((struct test_struct *)arg0);
	setopt("printsize", "20");
	print((struct test_struct *)arg0);
	setopt("printsize", "0");
	print((struct test_struct *)arg0);
	print((int *)arg0);
}
