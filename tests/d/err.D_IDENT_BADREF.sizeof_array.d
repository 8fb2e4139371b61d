BEGIN
{
	x[0] = 1;
	trace(sizeof (x));
}
