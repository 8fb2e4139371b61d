struct fwd;

BEGIN
{
	p = (struct fwd *)0;
	trace(p->x);
}
