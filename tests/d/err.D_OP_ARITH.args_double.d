/* a double argument is held and printed, not computed with (DTrace) */
/* argtypes: pid$target:a.out:mix:entry f4 f8 s4 f8 */
/* fire: pid$target:a.out:mix:entry */
pid$target:a.out:mix:entry
{
	trace(args[1] * 2);
}
