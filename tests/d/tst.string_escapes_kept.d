/* flags: -q */
/*
 * In a string constant dtrace knows the escapes \a \b \f \n \r \t \v \" \\,
 * octal and hexadecimal ones; any other, such as \? and \', stays as
 * written (dtrace's stresc2chr). A character constant goes through the
 * same function, so '\?' is two bytes, 0x5c3f.
 */
BEGIN
{
	printf("%s|%s|%d\n", "a\?b", "\'\\\"", '\?');
	exit(0);
}
