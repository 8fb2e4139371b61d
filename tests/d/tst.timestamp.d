/* flags: -q */
/* fire: pid$target:a.out:work:entry */
/* fire: pid$target:a.out:work:entry */
pid$target:a.out:work:entry /last/ { printf("delta %d\n", timestamp - last); }
pid$target:a.out:work:entry { last = timestamp; }
BEGIN { printf("begin at %d, vt %d, wall %d\n", timestamp, vtimestamp, walltimestamp); }
