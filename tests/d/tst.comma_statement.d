/* flags: -q */
/* D's comma operator as a statement: left to right, the value discarded. */
BEGIN
{
	a = 1, b = a + 1, c = b * 10;
	printf("%d %d %d\n", a, b, c);
	exit(0);
}
