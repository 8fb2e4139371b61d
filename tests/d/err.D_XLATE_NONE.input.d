/* xlate needs a translator from the input's type to the output */
struct myinput_struct { int i; };
struct other_struct { int j; };
struct myoutput_struct { int myi; };

translator struct myoutput_struct < struct myinput_struct *ivar >
{
	myi = ivar->i;
};

BEGIN
{
	trace(xlate<struct myoutput_struct>((struct other_struct *)0).myi);
}
