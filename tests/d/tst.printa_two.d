/* flags: -q */
BEGIN { @a["k"] = count(); @b["k"] = sum(7); printa("%s %@d %@d\n", @a, @b); exit(0); }
