struct a { int x; };

struct a A;

BEGIN
{
	A = 1;
}
