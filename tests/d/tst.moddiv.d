/* flags: -q */
/* Division and remainder of negative operands as DTrace computes them
   (dtrace-utils' tst.moddiv): the magnitudes divided, the quotient truncated
   toward zero and both negative when the operands' signs differ (C's
   remainder follows the dividend's sign alone: 19 % -5 is 4 there). */
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
