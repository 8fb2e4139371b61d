/* flags: -q */
BEGIN { @a[1, "x"] = count(); @b[2, "x"] = sum(5); printa("%d %s %@d %@d\n", @a, @b); exit(0); }
