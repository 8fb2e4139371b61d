/* flags: -q */
/* fire: pid1234:a.out:work:entry */
pid$target:a.out:work:entry /pid == $target/ { printf("target %d matched via %s\n", $target, probeprov); }
