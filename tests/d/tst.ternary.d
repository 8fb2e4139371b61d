/* flags: -q */
BEGIN { a = 5; printf("%s %d\n", a > 3 ? "big" : "small", a < 3 ? 1 : 2); exit(0); }
