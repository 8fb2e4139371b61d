/* flags: -q */
/*
 * A string literal is a string value of at most strsize bytes, as every
 * other (dtrace-utils funcs/strlen/tst.capped-sizw): stored into a global,
 * a thread-local, an array, compared, measured and used as a key, it is
 * its first strsize bytes; a format string is not a value and stays whole.
 */
#pragma D option strsize=5
BEGIN
{
	x = "123456789";
	self->y = "abcdefgh";
	a[1] = "ABCDEFGH";
	@[x, "key-longer"] = count();
	printf("%s %s %s %d %d %d\n", x, self->y, a[1], strlen(x), strlen("123456789"), x == "12345");
	printf("a format longer than strsize is whole\n");
	exit(0);
}
