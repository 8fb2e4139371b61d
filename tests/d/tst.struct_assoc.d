/* flags: -q */
/* A struct key is its members' values, not its address (dtrace-utils'
   struct/tst.StructAssoc). */
struct record {
	int position;
	char content;
};

struct record r1;
struct record r2;

BEGIN
{
	r1.position = 1;
	r1.content = 'a';

	r2.position = 1;
	r2.content = 'a';

	assoc_array[r1] = 1000;
	assoc_array[r2] = 2000;

	printf("assoc_array[r1]: %d\n", assoc_array[r1]);
	printf("assoc_array[r2]: %d\n", assoc_array[r2]);

	r2.content = 'b';
	printf("assoc_array[r2]: %d\n", assoc_array[r2]);
	exit(0);
}

END
/assoc_array[r1] != 2000/
{
	printf("Error");
	exit(1);
}
