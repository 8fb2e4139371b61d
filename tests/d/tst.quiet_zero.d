/* flags: -x quiet=0 */
/*
 * A switch given a number is set, whatever the number (dtrace's
 * dt_opt_runtime): quiet=0 is quiet. Tracing stops with a blank line.
 */
BEGIN { trace(1); printf(" two\n"); exit(0); }
