/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=0 */
/* fire: pid$target:a.out:work:entry arg0=4 */
pid$target:a.out:work:entry { printf("%d\n", 100 / arg0); }
