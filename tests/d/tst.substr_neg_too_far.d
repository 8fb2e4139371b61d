/* flags: -q */
/*
 * An index still before the string's start after counting from its end
 * takes its distance off the length (dtrace's substr): -6 of "abcde" is
 * one before 'a', so 3 characters from there are "ab"; a length that does
 * not reach the start is "".
 */
BEGIN
{
	printf("[%s]", substr("abcde", -10, 3));
	printf("[%s]", substr("abcde", -7, 3));
	printf("[%s]", substr("abcde", -6, 3));
	printf("[%s]", substr("abcde", -5, 3));
	printf("[%s]", substr("abcde", -6));
	printf("[%s]\n", substr("abcde", -6, -1));
	exit(0);
}
