struct a { int x; };

struct a A;

BEGIN
{
	printf("%d\n", A);
}
