struct fwd;

BEGIN
{
	trace(offsetof(struct fwd, x));
}
