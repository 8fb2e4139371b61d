/* each translated member is one of the output's */
struct input_struct { int i; char c; };
struct output_struct { int myi; char myc; };

translator struct output_struct < struct input_struct *ivar >
{
	myi = ivar->i;
	yourc = ivar->c;
};

BEGIN { exit(0); }
