/* flags: -q -x strsize=12 */
/* mem: 0x2000 "Delay in ns needed in delay env var." */
/* fire: pid$target:a.out:write:entry arg1=0x2000 */
/*
 * A maxsize above strsize is strsize: 11 characters and the NUL. Without
 * maxsize the string is strsize characters, as every string (and as the
 * agent reads copyinstr(p)); dtrace-utils reads one fewer there.
 */
pid$target:a.out:write:entry
{
	printf("'%s'\n", copyinstr(arg1, 96));
	printf("'%s'\n", copyinstr(arg1));
}
