int x[5];

BEGIN
{
	trace(x[1, 2]);
}
