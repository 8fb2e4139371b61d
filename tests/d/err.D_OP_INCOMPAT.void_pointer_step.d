void *p;

BEGIN
{
	trace((int)(p + 1));
}
