/* flags: -q */
/* strtok() resumes at the delimiter that ended the last token, which the
   next call's own delimiters may not skip (dtrace's strtok). */
BEGIN
{
	x = "abcdefABCDEFGHIJKLMNOP";
	printf("%s\n", strtok(x, "abcABC"));
	printf("%s\n", strtok(NULL, "MNO"));
	printf("%s\n", strtok(NULL, "0123456789"));
	printf("%d\n", strtok(NULL, "0123456789") == NULL);
	exit(0);
}
