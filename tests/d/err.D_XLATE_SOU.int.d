/* a translator's output is a struct or union */
struct input_struct { int ii; };

translator int < struct input_struct *ivar >
{
};

BEGIN { exit(0); }
