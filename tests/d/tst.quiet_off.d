/*
 * A negative word turns a switch off; the later setting wins: after these
 * two pragmas the output is the default one, header and probe columns.
 */
#pragma D option quiet=1
#pragma D option quiet=off
BEGIN { trace(1); exit(0); }
