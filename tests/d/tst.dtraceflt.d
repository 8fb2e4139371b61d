/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=0x10 */
pid$target:a.out:work:entry { trace(*(int *)arg0); }
ERROR
{
	printf("fault %d badaddr %d: %s\n", arg4, DTRACEFLT_BADADDR, arg4 == DTRACEFLT_BADADDR ? "yes" : "no");
	printf("%d %d %d %d %d\n", DTRACEFLT_UNKNOWN, DTRACEFLT_ILLOP, DTRACEFLT_DIVZERO, DTRACEFLT_NOSCRATCH,
	    DTRACEFLT_LIBRARY);
}
