/* flags: -q */
/* mem: 0x2000 "copied into scratch" */
/* fire: pid$target:a.out:work:entry arg0=0x2000 */
/* fire: pid$target:a.out:work:entry arg0=0x10 */
/* alloca() memory holds what copyinto() copies; a bad source faults */
pid$target:a.out:work:entry
{
	this->p = (char *)alloca(32);
	this->q = (int *)alloca(4);
	copyinto(arg0, 20, this->p);
	printf("%s|%c%c|%d\n", stringof(this->p), *this->p, *(this->p + 7), *this->q);
	printf("%d %d\n", (uint64_t)this->q - (uint64_t)this->p, (uint64_t)this->p % 8);
}
