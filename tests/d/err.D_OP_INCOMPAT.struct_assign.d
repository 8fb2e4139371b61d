struct a { int x; };
struct b { int x; };

struct a A;
struct b B;

BEGIN
{
	A = B;
}
