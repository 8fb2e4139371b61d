BEGIN
{
	clear(count());
}
