/* flags: -q */
BEGIN { a = "abc"; b = "abd"; printf("%d %d %d %d\n", a == "abc", a != b, a < b, b < a); exit(0); }
