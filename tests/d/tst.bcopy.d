/* flags: -q -x scratchsize=64 */
/* bcopy(src, dst, size) into alloca() memory; a destination outside it
   is a bad address, a copy past its end a bad size */
BEGIN
{
	s = (char *)alloca(10);
	bcopy(probename, s, 5);
	d = (char *)alloca(8);
	bcopy(s, d, 3);
	bcopy("x", &d[2], 1);
	printf("%s %s\n", stringof(s), stringof(d));
}

BEGIN
{
	bcopy("abc", (char *)alloca(2), 3);
}

BEGIN
{
	bcopy("abc", (char *)0x1000, 1);
}

BEGIN
{
	this->p = (char *)alloca(40);
	this->q = (char *)alloca(40);
}
