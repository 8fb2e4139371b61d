inline int N = 5;

BEGIN
{
	N = 3;
}
