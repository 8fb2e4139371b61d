/* flags: -q */
/* x op= e reads x before e's side effects, as dtrace's code does. */
BEGIN
{
	i = 4;
	i += i++ + --i + ++i - ++i * i;
	printf("%d\n", i);
	i -= i++ * 3;
	printf("%d\n", i);
	a["k"] = 1;
	a["k"] += a["k"]++;
	printf("%d\n", a["k"]);
	exit(0);
}
