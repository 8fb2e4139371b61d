/* flags: -q */
/* A string plus or minus an integer is the string from that character on
   (dt_cook_op2 lets a string be a pointer there; dtrace-utils'
   codegen/tst.str_store_var): within the strsize buffer past the end it
   is "", beyond it a bad address. */
#pragma D option strsize=6

BEGIN
{
	g = "abcdefgh";
	printf("[%s] [%s] [%s]\n", g, g + 1, 2 + g);
	g = "12";
	printf("[%s] [%s] [%s]\n", g + 1, g + 2, g + 5);
	self->t = "xyz";
	printf("[%s] [%s]\n", 1 + self->t, (self->t + 2) - 1);
}

BEGIN
{
	trace(g + 7);
}

ERROR
{
	printf("error %d\n", arg4);
	exit(0);
}
