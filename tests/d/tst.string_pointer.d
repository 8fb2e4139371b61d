/* flags: -q */
/* A string * points at a string in memory (dtrace-utils'
   funcs/alloca/tst.string-alloca): *p = s stores its bytes and NUL, at most
   strsize of them; *p reads the string back. */
#pragma D option strsize=8

BEGIN
{
	x = (string *)alloca(sizeof(string) + 1);
	*x = "abcdefghijk";
	y = (string *)alloca(sizeof(string) + 1);
	*y = *x;
	printf("%s %d %d %s\n", *x, sizeof(string), strlen(*x), *y);
	exit(0);
}
