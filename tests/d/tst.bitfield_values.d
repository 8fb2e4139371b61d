/* flags: -q */
/* Bit-fields of struct variables: stored in their bits only (a value too
   wide keeps its low bits), read back sign-extended when the type is
   signed, the neighbours' bits untouched; compound assignment and ++ too. */
struct rec {
	int a : 3;
	unsigned int b : 7;
	int c : 14;
	long d : 35;
	unsigned long e : 64;
	char last;
} g;

self struct rec t;

BEGIN
{
	g.last = 'z';
	g.a = 3; g.b = 0x7f; g.c = 0x1fff; g.d = 0x3ffffffff; g.e = 0xffffffffffffffff;
	printf("%d %d %d %d %u %c\n", g.a, g.b, g.c, g.d, g.e, g.last);
	g.a = 7; g.b = 0x75 + 256; g.c = 0x3555; g.d = 0x755555555;
	printf("%d %d %d %d %c\n", g.a, g.b, g.c, g.d, g.last);
	g.a = 256; g.c = 65536;
	printf("%d %d %d\n", g.a, g.b, g.c);
	g.a = 1; g.a += 2; g.b++; g.c -= 3;
	printf("%d %d %d\n", g.a, g.b, g.c);
	self->t.b = 200; self->t.a = -1;
	printf("%d %d %s\n", self->t.a, self->t.b, self->t.a == -1 ? "signed" : "unsigned");
	exit(0);
}
