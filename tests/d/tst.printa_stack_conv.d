/* flags: -q */
/* sym: 0x401000 0x100 work */
/* sym: 0x402000 0x100 main */
/* stack: 0x401010 0x402020 */
/* fire: pid$target:a.out:work:entry */
/*
 * printa()'s %k prints a stack key as dtrace's pfprint_stack: a newline,
 * then each frame on its own line through the conversion's "%s", indented
 * by the width only when it is left-justified.
 */
pid$target:a.out:work:entry
{
	@[ustack()] = count();
	printa("%k|%@d\n", @);
	printa("%-16k|%@d\n", @);
	printa("%20k|%@d\n", @);
}
