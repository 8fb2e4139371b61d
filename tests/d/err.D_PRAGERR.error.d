#pragma D error "not for this system"

BEGIN
{
	exit(0);
}
