/* flags: -q */
/* D computes integers in 64 bits (dtrace-utils: BPF registers) and narrows
   a value only where it is stored into a typed variable, cast or recorded
   (dtrace-utils' arithmetic/tst.basics, aggs/tst.quantmany). */
int64_t v;

BEGIN
{
	i = 25920;
	i = i - (i + (i * 3) + i) * i / i * i;	/* -3359206080, stored into an int */
	printf("%d\n", i);
	i = i * (i - 3) / i * 6;		/* i * (i - 3) needs 64 bits */
	printf("%d\n", i);
	v = 1 << 31;
	printf("%d %d %d\n", v, 1 << 31, (1 << 31) > 0);
	printf("%d %d\n", (1 << 31) / 2, -(1 << 31) >> 4);
	v = -(1 << 31);
	printf("%d\n", v);
	v = (1 << 63) - 1;
	printf("%d %d\n", v, (int)(1 << 32));
	c = (char)100;
	c = c + c;				/* 200 in a register, -56 as a char */
	printf("%d %d\n", c, (char)100 + (char)100 > 127);
	exit(0);
}
