/* flags: -q */
BEGIN { a = speculation(); b = speculation(); printf("%d %d\n", a, b); exit(0); }
