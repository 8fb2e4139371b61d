/* %d of a double argument is refused, as for any double */
/* argtypes: pid$target:a.out:mix:entry f4 f8 s4 f8 */
/* fire: pid$target:a.out:mix:entry */
pid$target:a.out:mix:entry
{
	printf("%d\n", args[1]);
}
