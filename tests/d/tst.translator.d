/* flags: -q */
/* bytes: 0x3000 2a000000000000006300000000000000 */
/* fire: pid$target:a.out:work:entry arg0=0x3000 arg1=7 */
/* translators as DTrace has them: xlate<T>(p).m and xlate<T *>(p)->m give
   the member's expression with the input in place of the translator's
   parameter, converted to the member's type; the translator is chosen by
   the input's type (a struct pointer, or an integer) */
struct input_struct {
	int ii;
	long ic;
};

struct output_struct {
	int oi;
	char oc;
	uint64_t twice;
};

typedef struct output_struct output_t;

translator output_t < struct input_struct *ivar >
{
	oi = ivar->ii;
	oc = ivar->ic;
	twice = ivar->ii * 2;
};

translator struct output_struct < int n >
{
	oi = n + 1;
};

pid$target:a.out:work:entry
{
	printf("%d %c %d\n", xlate<struct output_struct>((struct input_struct *)arg0).oi,
	    xlate<struct output_struct *>((struct input_struct *)arg0)->oc,
	    xlate<output_t>((struct input_struct *)arg0).twice);
	printf("%d\n", xlate<struct output_struct>((int)arg1).oi);
	this->x = xlate<struct output_struct>((struct input_struct *)arg0).oi;
	trace(this->x);
}
