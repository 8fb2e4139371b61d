/* a translator's output must be defined (the program's, or the target's) */
struct input_struct { int i; };

translator struct output_struct < struct input_struct *ivar >
{
	myi = ivar->i;
};

BEGIN { exit(0); }
