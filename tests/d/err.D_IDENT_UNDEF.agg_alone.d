BEGIN
{
	@b;
}
