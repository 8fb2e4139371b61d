/* An inline array is used with as many keys as it declares (D_PROTO_LEN). */
inline int sum[int x, int y] = x + y;

BEGIN
{
	trace(sum[1]);
}
