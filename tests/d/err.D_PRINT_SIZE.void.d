/* print() of a void * has nothing to show: its type has size 0 */
BEGIN
{
	print((void *)alloca(8));
}
