/* flags: -q -x tree=4 -x argref */
/*
 * dtrace's debugging options tree= (print the parse tree) and argref
 * (arguments need not be referenced) are accepted and do nothing.
 */
BEGIN { printf("ok\n"); exit(0); }
