/* flags: -q */
/* A declared array of integers is laid out in D memory as C lays it out:
   &a[i], the array's name (its first element's address), pointer
   arithmetic and sizeof work as in DTrace. */
int a[5];
uint8_t b[4];
int *p;
BEGIN
{
	a[0] = 100; a[1] = 200; a[2] = 300; a[3] = 400; a[4] = 500;
	p = &a[0];
	q = &a[2];
	printf("%d %d %d %d\n", *p, *(p + 1), p[4], *q);
	printf("%d %d\n", (int)(q - p), (int)((uintptr_t)q - (uintptr_t)p));
	r = a;
	r[1] = 222;
	printf("%d %d %d\n", a[1], ((int *)a)[3], sizeof(a));
	b[0] = 0x10; b[3] = 0xff;
	printf("%d %d %d\n", *(&b[0]), *(&b[3]), sizeof(b));
	v = (void *)&a[4];
	printf("%d\n", *(int *)v);
	exit(0);
}
