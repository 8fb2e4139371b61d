/* flags: -q */
/* sym: 0x401000 0x100 work */
/* stack: 0x401010 */
/* fire: pid$target:a.out:work:entry */
/*
 * A probe that fires in user space has no kernel frame: stack() is an
 * empty stack, stackdepth and caller are 0 (dtrace-utils' pid/tst.emptystack.d,
 * printa/tst.stack.d, variables/bvar/tst.caller.d, tst.stackdepth.d).
 */
BEGIN
{
	printf("BEGIN %d %d\n", stackdepth, caller);
	@[stack()] = count();
	printa("%k|%@d\n", @);
	printf("%s\n", substr("abcdef", stackdepth));
}

pid$target:a.out:work:entry
{
	printf("work %d %d\n", stackdepth, caller);
	@s[stack(3)] = sum(0);
	stack();
	printf("|\n");
}
