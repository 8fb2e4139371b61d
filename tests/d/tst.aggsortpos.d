/* flags: -q -x aggsortpos=1 */
/*
 * aggsortpos: a joined printa() sorts by its second aggregation's values
 * first, then the first's.
 */
BEGIN
{
	@a[1] = sum(1); @b[1] = sum(30);
	@a[2] = sum(2); @b[2] = sum(10);
	@a[3] = sum(3); @b[3] = sum(20);
	printa("%d %@d %@d\n", @a, @b);
	exit(0);
}
