int x[void, char];

BEGIN
{
	x[1, 2] = 456;
}
