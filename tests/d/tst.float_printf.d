/* flags: -q */
/* floats and doubles: declared (zero), printed with %e %f %g (DTrace's
   conv_*_float/double tests), compared with their own type, traced (the bits) */
float f;
double d;
double e;
BEGIN
{
	printf("%e|%E|%f|%g|%G\n", f, f, f, f, f);
	printf("%e|%f|%g|%8.3f|%-6g|\n", d, d, d, d, d);
	printf("%d %d %d\n", d == e, d < e, f == (float)f);
	e = d;
	printf("%d\n", e == d);
	trace(d);
	trace(f);
	exit(0);
}
