enum e { A, B };
enum f { B };

BEGIN
{
	exit(0);
}
