BEGIN
{
	@a = avg(execname);
}
