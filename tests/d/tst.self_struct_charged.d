/* flags: -q */
/*
 * A self-> struct is a dynamic variable charged as dtrace-utils charges
 * it: its type's size (16 bytes here, no tuple) of dynvarsize at its
 * first store, so 16 bytes hold one; a second struct is a drop (which ends
 * its clause) until storing 0 frees the first, which then reads as zeroes.
 */
#pragma D option dynvarsize=16

struct quad { int a, b, c, d; };
self struct quad p, q;
this struct quad v;

BEGIN
{
	this->v.a = 1;
	this->v.d = 4;
	self->p = this->v;
	self->p = this->v;			/* stored again: no new charge */
	printf("%d %d\n", self->p.a, self->p.d);
}

BEGIN
{
	self->q = this->v;			/* no room: a drop */
	printf("not reached\n");
}

BEGIN
{
	self->p = 0;
	this->v.a = 7;
	self->q = this->v;
	printf("%d %d %d\n", self->p.a, self->q.a, self->q.d);
	exit(0);
}
