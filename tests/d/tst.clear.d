/* flags: -q */
BEGIN { @c["x"] = count(); @c["x"] = count(); clear(@c); @c["y"] = count(); exit(0); }
