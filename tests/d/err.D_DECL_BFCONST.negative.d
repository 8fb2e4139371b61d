struct s { int a : 1; int b : -3; };

BEGIN
{
	exit(0);
}
