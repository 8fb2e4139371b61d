/* flags: -q -x aggsize=112 -x dynvarsize=20 -x droptags */
/*
 * -x droptags: each drop line carries dtrace's tag after the prefix. 112
 * bytes hold two integer-keyed count() keys (56 bytes each), 20 one
 * int-keyed array element of ints (dtrace-utils' rule: a tuple of the
 * 4-byte id, the 4-byte key and the 8-byte thread key, and the value).
 */
BEGIN
{
	@[1] = count(); @[2] = count(); @[3] = count();
	a[1] = 1; a[2] = 2;
	exit(0);
}
