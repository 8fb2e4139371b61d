/* flags: -q */
BEGIN { @c["alpha"] = count(); @c["beta"] = count(); @c["beta"] = count(); printa("%-8s %@d\n", @c); exit(0); }
