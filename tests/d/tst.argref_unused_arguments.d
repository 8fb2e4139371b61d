/* flags: -q -x argref */
/* args: 1 2 */
/* -x argref: arguments after the program may go unused. */
BEGIN { printf("%d\n", $1); exit(0); }
