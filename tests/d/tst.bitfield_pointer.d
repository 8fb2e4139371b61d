/* flags: -q */
/* bytes: 0x3000 01051e002a00 */
/* fire: pid$target:a.out:work:entry arg0=0x3000 */
/* A struct with bit-fields that the program declares, read through a
   pointer into the target's memory: each member from its own byte (DTrace's
   layout), signed ones sign-extended; print() shows them */
struct flags {
	unsigned int ready : 1;
	unsigned int mode : 3;
	int delta : 5;
	short n;
};

pid$target:a.out:work:entry
{
	this->f = (struct flags *)arg0;
	printf("size %d n@%d: ready %d mode %d delta %d n %d\n", sizeof (struct flags), offsetof(struct flags, n),
	    this->f->ready, this->f->mode, this->f->delta, this->f->n);
	print(this->f);
}
