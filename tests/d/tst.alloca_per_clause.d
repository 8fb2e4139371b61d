/* flags: -q */
/*
 * alloca() memory lives for its clause, as in dtrace-utils: the next
 * clause allocates from the start again (the same address), and reading
 * through a pointer kept from an earlier clause is a bad address.
 */
BEGIN
{
	s = (char *)alloca(1);
	*s = 'a';
}

BEGIN
{
	t = (char *)alloca(1);
	*t = 'b';
	printf("%d %c\n", s == t, *t);
}

BEGIN
{
	trace(*s);
}

BEGIN
{
	exit(0);
}
