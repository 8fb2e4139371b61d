int pid;

BEGIN
{
	exit(0);
}
