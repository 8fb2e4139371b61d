/* flags: -q */
BEGIN { @c["x"] = count(); @c["y"] = count(); @c["y"] = count(); printa(@c); printf("after\n"); exit(0); }
