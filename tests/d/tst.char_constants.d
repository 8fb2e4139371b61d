/* flags: -q */
/* Character constants are ints (sizeof ('c') is 4), of up to eight bytes;
   escapes are dtrace's stresc2chr(): \? and \' keep their backslash, as any
   other unknown escape does, and \x takes every hex digit that follows. */
BEGIN
{
	printf("%d %d %d %d\n", sizeof('c'), 'a', '\"', '\\');
	printf("%d %d %d\n", '\?', '\'', '\c');
	printf("%d %d %d\n", '\0103', '\x4E', 'ab\"d');
	printf("%d\n", 'a\bcdefgh');
	printf("%s|%s\n", "a\?b", "\x41\x0042");
	exit(0);
}
