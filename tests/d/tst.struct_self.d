/* flags: -q */
/* mem: 0x4000 "ABCDEFGH" */
/* fire: pid$target:a.out:work:entry arg0=0x4000 tid=7 */
/* fire: pid$target:a.out:work:entry arg0=0x4000 tid=8 */
/* fire: pid$target:a.out:work:return tid=7 */
/* fire: pid$target:a.out:work:return tid=8 */
/* self-> structs are per thread; a whole struct is copied from the
   target (*(struct rec *)copyin()), members then written in D's copy only;
   ++, += and *p = v through an alloca() pointer store too; print() and
   trace() show a struct value. */
struct rec {
	int a;
	char b;
	uint8_t c;
	short d;
};

pid$target:a.out:work:entry
{
	self->r = *(struct rec *)copyin(arg0, sizeof (struct rec));
	self->r.d = tid;
	self->r.a++;
	self->r.c += 2;
	this->p = (struct rec *)alloca(sizeof (struct rec));
	*this->p = self->r;
	this->p->b = 'z';
	this->i = (int *)alloca(8);
	*this->i = 40;
	this->i[1] = 2;
	printf("%x %c %c %d | %c %d\n", self->r.a, self->r.b, self->r.c, self->r.d, this->p->b, this->i[0] + this->i[1]);
}

pid$target:a.out:work:return
{
	printf("%d %x\n", self->r.d, self->r.a);
	print(self->r);
	trace(self->r);
}
