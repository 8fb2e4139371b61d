/* flags: -q */
/* mem: 0x2000 "Delay in ns needed in delay env var." */
/* fire: pid$target:a.out:write:entry arg1=0x2000 */
/*
 * copyinstr(p, n) copies into n bytes, the last of them the NUL, as
 * dtrace-utils does: n - 1 characters at most; 0 bytes is the empty
 * string; without n the whole string (shorter than strsize).
 */
pid$target:a.out:write:entry
{
	printf("'%s'\n", copyinstr(arg1, 32));
	printf("'%s'\n", copyinstr(arg1, 8));
	printf("'%s'\n", copyinstr(arg1, 1));
	printf("'%s'\n", copyinstr(arg1));
	printf("%d\n", strlen(copyinstr(arg1, 32)));
}
