void v;

BEGIN
{
	exit(0);
}
