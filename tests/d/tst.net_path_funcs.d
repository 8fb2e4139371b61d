/* flags: -q */
/* bytes: 0x2000 000102030405 */
/* bytes: 0x3000 00000000000000000000ffff7f000001 */
/* bytes: 0x3100 000000000000000000000000c0a80001 */
/* sym: 0x7f0000 0x80 malloc libc.so.6 */
/* fire: pid$target:a.out:connect:entry arg0=0x7f0004 */
/* cleanpath(), getmajor()/getminor() of the kernel's dev_t, link_ntop(),
   inet_ntoa6()'s strict flag, and sym()/func()/mod() as usym()/umod(). */
BEGIN
{
	printf("%s|%s|%s|%s|%s|%s\n", cleanpath("/foo/bar/../../baz/.//"), cleanpath("a/../.."),
	    cleanpath("/a/../.."), cleanpath(""), cleanpath("./"), cleanpath("z/a/b/../../././c///d/e"));
	printf("%x %x\n", getmajor(0xabcdef0123456789ll), getminor(0xabcdef0123456789ll));
}
pid$target:a.out:connect:entry
{
	printf("%s\n", link_ntop(ARPHRD_ETHER, (void *)0x2000));
	printf("%s %s\n", inet_ntoa6((void *)0x3000), inet_ntoa6((void *)0x3000, 1));
	printf("%s %s\n", inet_ntoa6((void *)0x3100, 0), inet_ntoa6((void *)0x3100, 1));
	printf("%s %s %s\n", stringof(sym(arg0)), stringof(func(arg0)), stringof(mod(arg0)));
	exit(0);
}
