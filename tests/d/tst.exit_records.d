/*
 * exit() records its status, as dtrace's DTRACEACT_EXIT does: not quiet,
 * its firing has a line even when nothing else prints; the clause that
 * only stores a variable records nothing and has none.
 */
BEGIN { x = 1; }
BEGIN { exit(0); }
