/* flags: -q */
/* Bit-fields in the program's structs: DTrace's layout (libctf's: each
   bit-field an integer of the smallest power-of-two bytes holding its
   width, starting at the byte after the previous member's last bit, and no
   padding after the last member), so sizeof agrees with dtrace's. */
struct one { int a : 1; };
struct three { int a : 1; int b : 3; int c : 3; };
struct overlap { int a : 20; int b : 3; int c : 12; };
struct mixed { char a : 2; short b : 12; long c : 32; };
struct wide { long c : 32; long long d : 9; int e : 1; };
struct plain { int x; unsigned int flag : 1; char tail; };
struct gap { int a : 4; int : 0; int : 7; int b : 4; };
union u { int a : 3; long b : 40; };

BEGIN
{
	printf("one %d three %d overlap %d mixed %d wide %d\n", sizeof (struct one), sizeof (struct three),
	    sizeof (struct overlap), sizeof (struct mixed), sizeof (struct wide));
	printf("plain %d tail@%d gap %d union %d\n", sizeof (struct plain), offsetof(struct plain, tail),
	    sizeof (struct gap), sizeof (union u));
	exit(0);
}
