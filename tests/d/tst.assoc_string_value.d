/* flags: -q */
BEGIN { name[1] = "one"; name[2] = "two"; printf("%s %s [%s]\n", name[1], name[2], name[3]); exit(0); }
