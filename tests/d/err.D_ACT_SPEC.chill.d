BEGIN
{
	speculate(speculation());
	chill(10);
}
