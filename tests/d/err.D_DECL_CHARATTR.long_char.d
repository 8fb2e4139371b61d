BEGIN
{
	x = (long char)0;
}
