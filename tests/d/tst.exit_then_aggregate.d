/* flags: -q */
/* exit() ends tracing after the clause that calls it: the rest of that
   clause still runs (its quantize counts, its printf prints), the probe's
   later clauses do not (dtrace-utils checks the activity state before each
   clause), END's do. */
BEGIN
{
	exit(0);
	@q = quantize(3);
	printf("after exit\n");
}

BEGIN
{
	@c = count();
	printf("second BEGIN clause\n");
}

END
{
	exit(1);
	printf("END\n");
}

END
{
	printf("second END clause\n");
}
