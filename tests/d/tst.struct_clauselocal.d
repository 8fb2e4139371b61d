/* flags: -q */
/* A this-> struct keeps its members across the clauses of one firing
   (dtrace-utils' struct/tst.clauselocal). */
struct foo {
	int x;
	char y;
	short z;
};

this struct foo bar;
long bignum;

BEGIN
{
	this->bar.x = 1;
	this->bar.y = ',';
	this->bar.z = 1234;
}

BEGIN
{
	printf("Die %s%c %s.\n", this->bar.x == 1 ? "SystemTap" : "DTrace",
	    this->bar.y, this->bar.z == 1234 ? "Die" : "The");
	exit(0);
}
