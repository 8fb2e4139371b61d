/* flags: -x quiet=no */
/*
 * A negative word turns a switch off, and -x is applied after the
 * program's own pragmas: the default output, header and probe columns.
 */
#pragma D option quiet=yes
BEGIN { trace(1); exit(0); }
