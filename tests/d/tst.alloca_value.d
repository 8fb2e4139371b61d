/* flags: -q */
/* An alloca() pointer recorded by an action is its offset in the scratch
   space, from 8 (dtrace-utils' funcs/alloca/tst.alloca-funcs); read
   through, it is the memory it points to. */
BEGIN
{
	x = (char *)alloca(8);
	y = (char *)alloca(3);
	z = alloca(1);
	x[0] = 'a';
	x[1] = 0;
	trace(x);
	printf(" %d %d %s %d\n", (uint64_t)y, (uint64_t)z, stringof(x), y - x);
	exit(0);
}
