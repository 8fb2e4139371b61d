#pragma D nosuchpragma

BEGIN
{
	exit(0);
}
