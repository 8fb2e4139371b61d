/* flags: -q */
/* strchr/strrchr: the rest of the string from the first/last occurrence,
   "" (DTrace's NULL) when absent; index/rindex: -1 when absent. */
BEGIN
{
	printf("[%s] [%s] [%s] [%s]\n", strchr("foo.bar.baz", '.'), strrchr("foo.bar.baz", '.'),
	    strchr("abc", 'z'), strrchr("abc", 'z'));
	printf("%d %d %d %d %d %d\n", index("abcabc", "c"), rindex("abcabc", "c"), index("abc", "z"),
	    rindex("abc", "z"), index("abcabc", "b", 2), rindex("abcabc", "b", 3));
	exit(0);
}
