BEGIN, END
{
	trace(args[1]);
}
