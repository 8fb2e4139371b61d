/* flags: -q */
/* fire: pid$target:a.out:malloc:entry */
/* fire: pid$target:libc.so.6:malloc:entry */
/* fire: pid$target:libc.so.6:free:entry */
entry { printf("any %s:%s\n", probemod, probefunc); }
malloc:entry { printf("malloc in %s\n", probemod); }
libc.so.6:free:entry { printf("free\n"); }
