/* a member's value follows C's assignment rule: no char into a char * */
struct input_struct { int i; char c; };
struct output_struct { int myi; char *myc; };

translator struct output_struct < struct input_struct *uvar >
{
	myi = uvar->i;
	myc = uvar->c;
};

BEGIN { exit(0); }
