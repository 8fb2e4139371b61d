struct s { float : 1; };

BEGIN
{
	exit(0);
}
