/* flags: -q */
/* args: work */
/* fire: pid$target:a.out:work:entry */
/* fire: pid$target:a.out:other:entry */
pid$target:a.out:$1:entry { printf("%s\n", probefunc); }
