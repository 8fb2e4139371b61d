/* flags: -q */
BEGIN { printf("%s %s\n", toupper("MiXeD 1"), tolower("MiXeD 1")); exit(0); }
