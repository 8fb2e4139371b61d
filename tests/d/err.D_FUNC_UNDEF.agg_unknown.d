BEGIN
{
	@ = nosuchfunc();
}
