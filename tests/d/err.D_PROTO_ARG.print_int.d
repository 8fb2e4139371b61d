/* print() takes a pointer to what it prints (dtrace-utils' void *), not a value */
BEGIN
{
	print(1);
}
