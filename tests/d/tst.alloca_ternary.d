/* flags: -q */
/* Both branches from alloca(), or neither: the ?: may be stored. */
BEGIN
{
	a = (char *)alloca(2);
	b = (char *)alloca(2);
	c = a ? a : b;
	d = a ? (char *)8 : (char *)16;
	printf("%d %d\n", c == a, (uint64_t)d);
	exit(0);
}
