/* flags: -q */
/* speculate() of no speculation (0) leaves the clause there, as
   dtrace-utils' does: the statements after it do not run. */
BEGIN
{
	x = 0;
}
BEGIN
{
	speculate(0);
	x++;
}
BEGIN
{
	printf("%d\n", x);
	exit(0);
}
