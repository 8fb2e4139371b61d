/* flags: -q */
/* A union variable: its members share their bytes. */
union word {
	uint32_t all;
	uint8_t bytes[4];
	struct {
		uint16_t lo, hi;
	} half;
};

union word w;

BEGIN
{
	w.all = 0x11223344;
	printf("%x %x %x\n", w.half.lo, w.half.hi, sizeof (w));
	w.half.hi = 0xabcd;
	printf("%x\n", w.all);
	exit(0);
}
