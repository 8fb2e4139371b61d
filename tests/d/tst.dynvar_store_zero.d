/* flags: -q */
/*
 * dtrace-utils' dynamic variables: each self-> variable and array element
 * takes the program's largest tuple plus its largest value of dynvarsize
 * (here the 4-byte id, an int key and the 8-byte thread key, 16, and the
 * 8-byte struct pair: 24 bytes), so 48 bytes hold two. Loading a missing
 * one and storing 0 to one allocate nothing; storing 0 deletes one (a
 * struct too), and its room holds the next. A drop is the last statement
 * of its clause here: dtrace-utils abandons the rest of a clause there.
 */
#pragma D option dynvarsize=48

struct pair { int x; int y; };
self struct pair p;
this struct pair q;
self int u, z, v;
int a[int];

BEGIN
{
	trace(self->u); trace(a[7]);		/* loads: nothing allocated */
	self->z = 0; a[8] = 0;			/* stores of 0: nothing allocated */
}

BEGIN
{
	self->v = 1;
	a[1] = 2;
	a[2] = 3;				/* no room: a drop */
}

BEGIN
{
	self->v = 0;				/* deleted: its room is free */
	a[3] = 4;
	a[1] = 0;
	this->q.x = 5; this->q.y = 6;
	self->p = this->q;
	self->p = 0;				/* a struct deleted: reads 0 */
	printf("\n%d %d %d %d %d %d\n", self->v, a[1], a[2], a[3], self->p.x, self->p.y);
	exit(0);
}
