/* flags: -q -x nspec=1 */
/*
 * With every speculation buffer in use, speculation() returns 0 and the
 * failure is counted: "failed speculation (no speculative buffer
 * available)", as dtrace reports it.
 */
BEGIN { a = speculation(); b = speculation(); c = speculation(); printf("%d %d %d\n", a, b, c); exit(0); }
