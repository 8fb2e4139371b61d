/*
 * inet_ntoa6() takes an in6_addr_t *: an int * is not argument-compatible
 * (dtrace-utils' err.D_PROTO_ARG.inet_ntoa6.arg1_not_in6_addr.d); void *
 * and struct in6_addr * are.
 */
int *p;

BEGIN
{
	trace(inet_ntoa6((void *)p));
	trace(inet_ntoa6((struct in6_addr *)p));
	trace(inet_ntoa6(p));
}
