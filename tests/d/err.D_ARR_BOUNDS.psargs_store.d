BEGIN
{
	curpsinfo->pr_psargs[80] = 0;
}
