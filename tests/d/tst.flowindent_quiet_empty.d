/* flags: -q -x flowindent */
/* -F -q with empty clauses: each flow line ends */
/* fire: pid$target:a.out:main:entry */
/* fire: pid$target:a.out:work:entry */
/* fire: pid$target:a.out:work:return */
/* fire: pid$target:a.out:main:return */
pid$target:a.out::entry, pid$target:a.out::return {}
