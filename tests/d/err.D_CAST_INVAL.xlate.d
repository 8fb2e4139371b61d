/* a pointer to translated data is not an address */
struct in { int ii; };
struct out { int oi; };

translator struct out < struct in *i >
{
	oi = i->ii;
};

BEGIN
{
	addr = (uintptr_t)xlate<struct out *>((struct in *)0);
}
