/* flags: -q */
/* fire: pid$target:libc.so.6:malloc:entry */
pid$target:libc:malloc:entry { printf("libc matched %s\n", probemod); }
