/* fire: pid$target:a.out:work:entry arg0=1 */
/* fire: pid$target:a.out:work:entry arg0=2 */
/* Not quiet: a firing prints its probe line when an if prints. */
pid$target:a.out:work:entry
{
	if (arg0 == 2)
		trace(arg0);
}
