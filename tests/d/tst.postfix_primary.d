/* flags: -q */
/* Postfix operators on any primary expression: an index or a member
   after a parenthesised or cast expression, and & of an element */
struct pt {
	int x;
	int y;
};

BEGIN
{
	this->p = (struct pt *)alloca(sizeof (struct pt));
	this->p->x = 3;
	this->p->y = 4;
	printf("%d %d %d\n", (*this->p).x, (*this->p).y, ((this->p))->y);
	printf("%d %d\n", ((int *)this->p)[1], ((char *)this->p)[0]);
	c = (char *)alloca(16);
	((char *)c)[1] = 'k';
	(c)[2] = 'o';
	*(&c[3]) = '!';
	printf("%c%c%c %d\n", c[1], (c + 1)[1], c[3], &c[3] - c);
}
