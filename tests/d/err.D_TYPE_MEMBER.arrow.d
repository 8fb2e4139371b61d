struct s { int a; };

BEGIN
{
	p = (struct s *)0;
	trace(p->b);
}
