/* cpp's line markers (probekit -C) name the file and line written. */
BEGIN
{
# 40 "defs.h" 1
	x = nosuch;
#line 50
	z = stillnot;
#line 7 "<stdin>"
	y = alsonot;
}
