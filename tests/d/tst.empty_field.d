/* flags: -q */
/* fire: pid$target:a.out:work:entry */
/* fire: pid$target:a.out:work:return */
pid$target::work: { printf("%s\n", probename); }
