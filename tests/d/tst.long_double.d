/* flags: -q */
/*
 * long double is a type D declares and sizes as x86-64's C does (16
 * bytes), as typedefs and variables of it in dtrace-utils'
 * typedef/tst.TypedefDataAssign.d need.
 */
typedef long double ldouble_t;
long double ld;
ldouble_t lt;

BEGIN
{
	printf("%d %d %d\n", sizeof(long double), sizeof(ldouble_t), sizeof(ld));
	exit(0);
}
