/* flags: -q */
/* s[i] of the NULL string reads address i, an invalid address, as dtrace's
   does (the faulting clause's output is discarded, as dtrace discards
   it); of a string with a buffer it is a char, 0 past the end. */
BEGIN
{
	this->s = "hello world";
	printf("%c %d\n", this->s[1], this->s[20]);
}
BEGIN
{
	this->s = "hello world";
	this->s = NULL;
	printf("%x\n", this->s[1]);
	printf("not reached\n");
}
BEGIN
{
	a[7] = "abcdef";
	printf("%c\n", a[7][3]);
	a[7] = NULL;
	trace(a[7][3]);
}
BEGIN
{
	exit(0);
}
ERROR
{
	printf("fault %d at %d\n", arg4, arg5);
}
