int a[5];
int *p;

BEGIN
{
	p = &a;
}
