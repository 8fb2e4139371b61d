BEGIN
{
	trace(curlwpsinfo->pr_name[16]);
}
