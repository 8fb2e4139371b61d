/* print() takes exactly one argument */
BEGIN
{
	print();
}
