/* flags: -q -x flowindent */
/* -F prints its prefix even with -q (as dtrace does), without the trailing newline; a
   probe with two clauses moves the indent once */
/* fire: pid$target:a.out:main:entry */
/* fire: pid$target:a.out:work:entry arg0=3 */
/* fire: pid$target:a.out:work:return */
/* fire: pid$target:a.out:main:return */
pid$target:a.out::entry { printf("%s\n", probefunc); }
pid$target:a.out:work:entry { printf("n=%d\n", arg0); }
pid$target:a.out::return { printf("done\n"); }
