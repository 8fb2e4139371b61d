/* flags: -q */
/* An array element that holds NULL, or was never stored, reads as the NULL
   string, as dtrace's missing dynamic variable reads as 0. */
BEGIN
{
	a[1] = strchr("abc", 'z');
	b[1] = a[1];
	printf("%d %d %d %d\n", a[1] == NULL, b[1] == NULL, a[2] == NULL, a[1] == b[1]);
	a[3] = "x";
	printf("%d %d\n", a[3] == NULL, a[3] > a[2]);
	exit(0);
}
