BEGIN
{
	trace(offsetof(no_such_t, x));
}
