/* flags: -q -x aggsize=112 -x dynvarsize=72 -x droptags */
/*
 * -x droptags: each drop line carries dtrace's tag after the prefix. 112
 * bytes hold two integer-keyed count() keys (56 bytes each), 72 one
 * integer-keyed array element (32 + 16 + 8 + 8 + 8).
 */
BEGIN
{
	@[1] = count(); @[2] = count(); @[3] = count();
	a[1] = 1; a[2] = 2;
	exit(0);
}
