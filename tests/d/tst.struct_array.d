/* flags: -q */
/*
 * Arrays of structs and unions (dtrace-utils' pointers/tst.ArrayPointer1):
 * elements are laid out one after the other at their type's size, so
 * &r[2] - &r[0] is two structs; r[i].m reads and writes element i's
 * member, r[i] = r[j] copies a whole element, a union's members share
 * its bytes, and an index past the array is a bad index at run time.
 */
struct rec {
	char ch;
	int in;
} r[6];

union num {
	char ch;
	int in;
} u[6];

BEGIN
{
	printf("%d %d %d %d\n", (int)&r[2] - (int)&r[0], (int)&u[3] - (int)&u[0],
	    sizeof (r[0]), sizeof (u[0]));
	r[1].ch = 'a';
	r[1].in = 41;
	r[4] = r[1];
	r[4].in++;
	u[2].in = 0x4142;
	this->i = 4;
	printf("%c %d %c %d %d %x %d\n", r[1].ch, r[1].in, r[this->i].ch, r[this->i].in, r[0].in, u[2].ch, u[5].in);
}

BEGIN
{
	this->i = 6;
	trace(r[this->i].in);
}

ERROR
{
	printf("error %d\n", arg4);
	exit(0);
}
