/* fire: pid$target:a.out:work:entry */
/* fire: pid$target:a.out:work:entry cpu=1 */
pid$target:a.out:work:entry {}
