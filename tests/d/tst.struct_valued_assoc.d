/* flags: -q */
/*
 * Struct- and union-valued associative array elements (dtrace-utils'
 * assocs/tst.store_zero_deletes_struct and _union): an element holds a
 * copy of the value, sized by its type, so later changes to the source do
 * not reach it. Each takes the 4-byte id, the int key and the 8-byte
 * thread key (16) plus the 4-byte struct (20 bytes) of dynvarsize: 79
 * bytes hold three. Storing 0 deletes one and frees its room for the
 * next; a missing one reads as zeroes. The fourth store, with no room, is
 * a drop, which ends its clause.
 */
#pragma D option dynvarsize=79

this struct {
	int a;
} val;

this union {
	int a;
	char c;
} uval;

BEGIN
{
	this->val.a = 1;
	a[1] = this->val;
	this->val.a = 2;
	a[2] = this->val;
	this->val.a = 3;
	a[3] = this->val;
	a[1] = 0;
	this->val.a = 4;
	a[4] = this->val;
	printf("%d %d %d %d\n", a[1].a, a[2].a, a[3].a, a[4].a);
}

BEGIN
{
	this->uval.a = 0x41;
	u[1] = this->uval;
	printf("not reached\n");
}

BEGIN
{
	a[2] = 0;
	this->uval.a = 0x42;
	u[1] = this->uval;
	this->uval.a = 0;
	printf("%d %c %d\n", u[1].a, u[1].c, a[2].a);
	exit(0);
}
