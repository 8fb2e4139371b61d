BEGIN
{
	if (execname) {
		exit(0);
	}
}
