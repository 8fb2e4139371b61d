BEGIN
{
	x = 10ms;
}
