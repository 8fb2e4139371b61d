/* flags: -q */
/* fire: pid$target:a.out:work:entry */
/* fire: pid$target:a.out:work:entry */
BEGIN { last = 0; }  /* dtrace knows globals in program order */
pid$target:a.out:work:entry /last/ { printf("delta %d\n", timestamp - last); }
pid$target:a.out:work:entry { last = timestamp; }
BEGIN { printf("begin at %d, vt %d, wall %d\n", timestamp, vtimestamp, walltimestamp); }
