/* flags: -q */
BEGIN { printf("%s %s %s %s %s %s\n", basename("/usr/lib/libc.so.6"), dirname("/usr/lib/libc.so.6"), basename("file"), dirname("file"), dirname("/top"), basename("/a/b/")); exit(0); }
