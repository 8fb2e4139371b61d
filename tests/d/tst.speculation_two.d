/* flags: -q -x nspec=2 */
BEGIN { a = speculation(); b = speculation(); c = speculation(); printf("%d %d %d\n", a, b, c); }
BEGIN { speculate(a); printf("in a\n"); }
BEGIN { speculate(b); printf("in b\n"); }
BEGIN { commit(b); }
BEGIN { discard(a); }
BEGIN { d = speculation(); printf("reused %d\n", d); exit(0); }
