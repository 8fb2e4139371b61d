enum e { A, B, A = 4 };

BEGIN
{
	exit(0);
}
