/* flags: -x flowindent */
/* -F: "-> func" at entry, "<- func" at return, two columns per depth, per thread */
/* fire: pid$target:a.out:main:entry */
/* fire: pid$target:a.out:parse:entry */
/* fire: pid$target:a.out:lex:entry */
/* fire: pid$target:a.out:lex:return */
/* fire: pid$target:a.out:work:entry tid=99 cpu=1 */
/* fire: pid$target:a.out:parse:return */
/* fire: pid$target:a.out:main:0 */
/* fire: pid$target:a.out:work:return tid=99 cpu=1 */
/* fire: pid$target:a.out:main:return */
/* fire: pid$target:a.out:main:return */
pid$target:a.out::entry, pid$target:a.out::return, pid$target:a.out::0 {}
