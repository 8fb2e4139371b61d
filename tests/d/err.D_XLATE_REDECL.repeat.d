/* one translator per input and output type */
struct input_struct { int ii1; };
struct output_struct { int oi; };

translator struct output_struct < struct input_struct *ivar1 >
{
	oi = ivar1->ii1;
};

translator struct output_struct < struct input_struct *ivar1 >
{
	oi = ivar1->ii1;
};

BEGIN { exit(0); }
