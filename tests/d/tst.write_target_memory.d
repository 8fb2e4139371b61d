/* flags: -q */
/* mem: 0x5000 "target" */
/* fire: pid$target:a.out:work:entry arg0=0x5000 */
/* A store through a pointer into the target's memory is an invalid
   address, as in DTrace: only copyout() (destructive, -w) writes there. */
struct rec {
	int a;
};

pid$target:a.out:work:entry
{
	printf("before\n");
	*(char *)arg0 = 'T';
	printf("not reached\n");
}

pid$target:a.out:work:entry
{
	((struct rec *)arg0)->a = 1;
}

pid$target:a.out:work:entry
{
	printf("%s\n", stringof((char *)arg0));
}
