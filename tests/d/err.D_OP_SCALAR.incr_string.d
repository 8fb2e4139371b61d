BEGIN
{
	a = "boo";
	c = a++;
}
