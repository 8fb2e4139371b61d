/* flags: -q */
/* fire: pid$target:a.out:work:entry */
/* fire: pid$target:a.out:play:entry */
/* fire: pid$target:a.out:rest:entry */
pid$target:a.out:work:entry, pid$target:a.out:play:entry { printf("%s\n", probefunc); }
