/* flags: -q */
/* A declared array checks its index when it runs: out of range is an error. */
int a[3];

BEGIN
{
	i = 2;
	a[i] = 1;
	printf("a[2]=%d\n", a[2]);
}

BEGIN
{
	i = 3;
	a[i] = 1;
	printf("not reached\n");
}

BEGIN
{
	exit(0);
}
