BEGIN
{
	i = 1;
	trace(i.x);
}
