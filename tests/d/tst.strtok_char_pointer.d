/* flags: -q */
/*
 * strtok() takes a char * as dtrace does: the string at the pointer (here
 * alloca()'d bytes) starts a new tokenizing, and a NULL one goes on with it.
 */
BEGIN
{
	x = (char *)alloca(8);
	x[0] = 'a'; x[1] = '/'; x[2] = 'b'; x[3] = '/'; x[4] = 'c'; x[5] = 0;
	y = (char *)alloca(2);
	y[0] = '/'; y[1] = 0;
	printf("%s ", strtok(x, y));
	printf("%s ", strtok(NULL, y));
	z = (char *)0;
	printf("%s\n", strtok(z, y));
	exit(0);
}
