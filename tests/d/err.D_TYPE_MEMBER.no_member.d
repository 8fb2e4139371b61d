struct s { int a; };

struct s x;

BEGIN
{
	x.b = 1;
}
