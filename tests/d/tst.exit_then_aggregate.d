/* flags: -q */
/* exit() ends tracing after the firing: the rest of its clause, and the
   other clauses of the same probe, still run (DTrace's semantics). */
BEGIN
{
	exit(0);
	@q = quantize(3);
	printf("after exit\n");
}

BEGIN
{
	@c = count();
}
