BEGIN { @a[1, "x"] = count(); @b[2, 3] = count(); printa(@a, @b); }
