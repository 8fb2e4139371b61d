/* flags: -q */
/* Division and remainder of negative operands follow C: the quotient is
   truncated toward zero and the remainder has the sign of the dividend. */
int64_t big;

BEGIN
{
	x = 19;
	y = 5;
	big = -7;
	trace(x / y); trace(" "); trace(x % y); trace("|");
	trace(x / -y); trace(" "); trace(x % -y); trace("|");
	trace(-x / y); trace(" "); trace(-x % y); trace("|");
	trace(-x / -y); trace(" "); trace(-x % -y); trace("|");
	trace(big / 2); trace(" "); trace(big % 2); trace("|");
	trace(-19 / 5); trace(" "); trace(-19 % 5); trace("|");
	x /= -y;
	trace(x); trace("\n");
	exit(0)
}
