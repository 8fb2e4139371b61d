/* flags: -q -x strsize=5 */
/*
 * -x rawbytes: trace() shows the bytes it recorded as tracemem() does: a
 * string in strsize + 1 bytes, cut at strsize and NUL-padded; an integer
 * in its size. strjoin() of strings longer than strsize is cut too.
 */
#pragma D option rawbytes

BEGIN
{
	trace("abcdefgh");
	trace(strjoin("12", "3"));
	trace(strjoin("123", "abcdefgh"));
	trace((short)0x4142);
	exit(0);
}
