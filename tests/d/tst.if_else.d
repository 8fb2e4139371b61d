/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=1 */
/* fire: pid$target:a.out:work:entry arg0=5 */
/* fire: pid$target:a.out:work:entry arg0=7 */
/* fire: pid$target:a.out:work:entry arg0=12 */
pid$target:a.out:work:entry
{
	if (arg0 < 3) {
		printf("%d small\n", arg0);
	} else if (arg0 < 10) {
		printf("%d medium\n", arg0);
		if (arg0 == 5)
			printf("  five\n");
		else
			printf("  not five\n");
	} else {
		printf("%d large\n", arg0);
		@big = count();
	}
	if (arg0 > 100) printf("never\n");
	n++;
}

END
{
	printf("n=%d\n", n);
}
