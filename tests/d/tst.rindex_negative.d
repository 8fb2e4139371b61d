/* flags: -q */
/*
 * rindex() finds nothing before position 0: a negative start is -1, while
 * index() starts a negative position at 0 (dtrace-utils' rindex and index).
 */
BEGIN
{
	printf("%d %d %d %d\n", rindex("abcabc", "abc", -1), rindex("abcabc", "abc", 0),
	    rindex("abcabc", "abc"), index("abcabc", "abc", -1));
	exit(0);
}
