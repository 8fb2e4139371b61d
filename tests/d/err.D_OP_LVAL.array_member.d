struct a { char name[8]; };

struct a A;

BEGIN
{
	A.name = 1;
}
