/* flags: -q */
/*
 * Declared this-> and self-> arrays, of structs too (dtrace-utils refuses
 * only an associative one as a local): elements at their type's size,
 * r[i].m read and written, whole elements copied, sizeof of the whole
 * array, and an index past it a bad index at run time.
 */
struct rec { char ch; int in; };
this struct rec tr[3];
self struct rec sr[4];
this int ti[5];
self int si[5];

BEGIN
{
	this->tr[1].in = 5;
	this->tr[2] = this->tr[1];
	this->tr[2].ch = 'x';
	self->sr[3].in = 7;
	self->sr[0] = self->sr[3];
	this->ti[4] = 44;
	self->si[2] = 22;
	this->i = 2;
	printf("%d %d %c %d %d %d %d %d %d\n", this->tr[1].in, this->tr[2].in, this->tr[2].ch, self->sr[3].in,
	    self->sr[0].in, this->ti[4], self->si[this->i], (int)&this->tr[2] - (int)&this->tr[0], sizeof (self->si));
}

BEGIN
{
	this->i = 5;
	trace(self->si[this->i]);
}

ERROR
{
	printf("error %d\n", arg4);
	exit(0);
}
