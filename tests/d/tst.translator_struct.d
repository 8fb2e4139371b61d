/* flags: -q */
/* A translator whose input is a struct value (xlate<T>(s)), its members
   read through a cast to the input's own type; offsetof() of the program's
   own struct with dtrace's "D" module scope. */
struct in_s {
	int i;
	char c;
};
struct out_s {
	int myi;
	char myc;
};
translator struct out_s < struct in_s ivar >
{
	myi = ((struct in_s)ivar).i;
	myc = ivar.c;
};
struct in_s f;
BEGIN
{
	f.i = 10;
	f.c = 'c';
	printf("%d %c\n", xlate < struct out_s > (f).myi, xlate < struct out_s > (f).myc);
	printf("%d %d\n", offsetof(struct D`in_s, c), offsetof(struct out_s, myc));
	exit(0);
}
