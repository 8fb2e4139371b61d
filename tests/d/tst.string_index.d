/* flags: -q */
/* fire: pid$target:a.out:work:entry comm=worker */
/* s[i] is char i of a string, as DTrace reads it from the string's
   strsize buffer: 0 past its end, a bad address past the buffer */
BEGIN
{
	s = "ABCDEFG";
	this->s = "hello";
	printf("%d %d %c %c\n", s[1], s[7], this->s[4], s[1 + 1]);
	printf("%c%c\n", execname[0], probename[1]);
	printf("%d %d\n", (t = strjoin("x", "yz"))[2], t[0] + strlen(t));
	printf("%d\n", sizeof (s[0]));
}

pid$target:a.out:work:entry
{
	printf("%c%c %c %d\n", execname[0], execname[5], substr(probefunc, 1)[0], s[255]);
}

pid$target:a.out:work:entry
{
	trace(s[256]);
}
