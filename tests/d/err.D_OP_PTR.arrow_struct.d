struct a { int x; };

struct a A;

BEGIN
{
	trace(A->x);
}
