/* inet_ntoa6()'s strict flag is an integer constant (D_PROTO_ARG). */
BEGIN
{
	n = 0;
	trace(inet_ntoa6((void *)0, n));
}
