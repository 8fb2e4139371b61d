/* flags: -x quiet=no -x strsize=32 */
/*
 * dtrace(1) applies the command line's options (-x, -q, -w, -F, -b) before it
 * compiles the program, and each `#pragma D option` calls dtrace_setopt() as
 * the compiler meets it: the program's pragma wins, option by option. Here
 * quiet is on and strsize is 5, as the pragmas say.
 */
#pragma D option quiet
#pragma D option strsize=5

BEGIN
{
	printf("%s\n", "abcdefgh");
	exit(0);
}
