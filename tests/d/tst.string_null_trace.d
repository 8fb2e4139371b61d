/* flags: -q */
/* trace() of a string never stored in a thread-local variable or an array
   element (the NULL string) faults at address 0, as dtrace's does. */
string s[int];
self string x;
BEGIN
{
	trace(s[1]);
}
BEGIN
{
	trace(self->x);
}
BEGIN
{
	exit(0);
}
ERROR
{
	printf("fault %d at %d\n", arg4, arg5);
}
