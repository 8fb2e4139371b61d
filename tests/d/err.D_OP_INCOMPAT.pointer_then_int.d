BEGIN
{
	x = (char *)arg0;
	x = 0;
	x = pid;
}
