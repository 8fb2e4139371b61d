/* Each key of an inline array has its declared type (D_PROTO_ARG). */
inline int twice[int x] = x * 2;

BEGIN
{
	trace(twice["two"]);
}
