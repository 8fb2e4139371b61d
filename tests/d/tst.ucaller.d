/* flags: -q */
/* sym: 0x401000 0x100 work */
/* sym: 0x402000 0x100 main */
/* sym: 0x7f0000 0x80 __libc_start_main libc.so.6 */
/* stack: 0x401000 0x402020 0x7f0010 */
/* fire: pid$target:a.out:work:entry */
pid$target:a.out:work:entry
{
	printf("%x %d\n", ucaller, ustackdepth);
	printf("%s\n", uaddr(ucaller));
	@[ufunc(ucaller)] = count();
}
