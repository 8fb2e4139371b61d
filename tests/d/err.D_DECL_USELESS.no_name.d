int;

BEGIN
{
	exit(0);
}
