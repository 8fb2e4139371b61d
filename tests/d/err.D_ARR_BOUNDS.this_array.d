this int a[3];

BEGIN
{
	this->a[3] = 1;
}
