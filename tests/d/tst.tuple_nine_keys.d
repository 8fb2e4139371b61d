/* flags: -q */
/* Nine keys fill dtrace-utils' tuple (tregs 8 + 1); -x tregs raises it. */
#pragma D option tregs=9

BEGIN
{
	a[0, 1, 2, 3, 4, 5, 6, 7, 8] = 9;
	b[0, 1, 2, 3, 4, 5, 6, 7, 8, 9] = 10;
	@c[0, 1, 2, 3, 4, 5, 6, 7, 8] = count();
	printf("%d %d\n", a[0, 1, 2, 3, 4, 5, 6, 7, 8], b[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
	exit(0);
}
