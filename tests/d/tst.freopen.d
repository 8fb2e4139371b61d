/* flags: -q -w */
/* fire: pid$target:a.out:work:entry arg0=7 */
pid$target:a.out:work:entry
{
	printf("to stdout\n");
	freopen("/tmp/pk.%d.out", arg0);
	printf("to the file\n");
	ftruncate();
	freopen("");
	printf("back\n");
}
