/* flags: -q */
BEGIN { m[1, "a"] = 5; m[2, "b"] = 6; printf("%d %d %d\n", m[1, "a"], m[2, "b"], m[1, "b"]); exit(0); }
