/* flags: -q -x nspec=2 */
/* dtrace-utils' clause rules: discard() does not seal a clause as commit()
   does; data, exit() and commit() may follow it, and it may follow data. */
BEGIN
{
	s = speculation();
	t = speculation();
}
BEGIN
{
	speculate(s);
	printf("speculative\n");
}
BEGIN
{
	printf("before discard\n");
	discard(s);
	printf("after discard\n");
}
BEGIN
{
	discard(s);
	commit(t);
}
BEGIN
{
	discard(t);
	discard(t);
	exit(0);
}
