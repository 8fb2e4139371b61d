BEGIN
{
	else {
		exit(0);
	}
}
