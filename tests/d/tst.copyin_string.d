/* flags: -q */
/* mem: 0x2000 "Delay in ns needed in delay env var." */
/* fire: pid$target:a.out:write:entry arg1=0x2000 */
/*
 * copyin() copies into the firing's scratch space, and a string cast of the
 * copy is its n bytes (they have no NUL of their own), as dtrace-utils'.
 */
pid$target:a.out:write:entry
{
	printf("'%s'\n", (string)copyin(arg1, 32));
	printf("%c\n", ((string)copyin(arg1, 32))[4]);
}
