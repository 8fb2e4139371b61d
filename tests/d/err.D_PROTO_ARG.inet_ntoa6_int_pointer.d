/* inet_ntoa6() takes an in6_addr_t *, not an int * (dtrace-utils'
   funcs/inet_ntoa6/err.D_PROTO_ARG.inet_ntoa6.arg1_not_in6_addr). */
int *p;
BEGIN
{
	p = alloca(sizeof(int) * 4);
	trace(inet_ntoa6(p));
}
