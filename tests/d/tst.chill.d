/* flags: -q -w */
/* fire: pid$target:a.out:work:entry */
pid$target:a.out:work:entry { chill(1000); printf("chilled\n"); }
