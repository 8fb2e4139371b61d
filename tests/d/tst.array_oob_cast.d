/* flags: -q */
/*
 * dtrace-utils' arrays/tst.declared-bounds.oob-cast: a declared array's
 * index is checked, but a read through a pointer cast from it is not
 * (dtrace reads on in its variables' memory): ((int *)a)[4] is a[4], and
 * ((int *)a)[10], past every variable, reads as 0 instead of faulting
 * before exit() (which left the program waiting forever).
 */
int a[5];

BEGIN
{
	a[4] = 44;
	printf("%d %d\n", ((int *)a)[4], ((int *)a)[10]);
	exit(0);
}
