BEGIN
{
	trace(args["a"]);
}
