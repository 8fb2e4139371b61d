/* flags: -q */
/* mem: 0x1000 "ABCDEFGH" */
/* fire: pid$target:a.out:work:entry arg0=0x1000 */
/* p->member reads the member from the target at p + offsetof (C's layout);
   past the bytes the target has, it is an invalid address. */
struct rec {
	int a;
	char b;
	uint8_t c;
	short d;
	int e;
};
struct rec *p;

pid$target:a.out:work:entry
{
	p = (struct rec *)arg0;
	this->q = (struct rec *)(arg0 + 1);
	printf("a=%x b=%c c=%c d=%x q->a=%x\n", p->a, p->b, p->c, p->d, this->q->a);
}

pid$target:a.out:work:entry
{
	printf("e=%d\n", p->e);
}
