/* flags: -q */
BEGIN { i = 5; a = i++; b = ++i; c = i--; d = --i; printf("%d %d %d %d %d\n", a, b, c, d, i); exit(0); }
