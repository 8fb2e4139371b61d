BEGIN
{
	trace(epid));
	exit(0);
}
