/* a member the translator does not define has no value */
struct input_struct { int ii; char ic; };
struct output_struct { int oi; char oc; };

translator struct output_struct < struct input_struct *ivar >
{
	oi = ivar->ii;
};

BEGIN
{
	trace(xlate<struct output_struct *>((struct input_struct *)0)->oc);
}
