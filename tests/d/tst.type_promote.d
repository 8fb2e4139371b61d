/* flags: -q */
/* Arithmetic types are dtrace's dt_type_promote(), not C's: no promotion to
   int, the operand of greater rank (size, then unsigned) gives the type,
   so unsigned char + signed char is an unsigned char. */
unsigned char C;
signed char c;
unsigned short S;
short s;
BEGIN
{
	C = -2; c = 3; S = -2; s = -3;
	printf("%d %d %d\n", C + c, c + C, C - 3);
	printf("%d %d %d\n", S + c, S + S, s + c);
	printf("%d %d\n", sizeof(C + c), sizeof(s + c));
	exit(0);
}
