BEGIN
{
	x = (char int)0;
}
