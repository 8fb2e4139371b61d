/* fire: pid$target:a.out:work:entry cpu=1 */
/* fire: pid$target:a.out:work:return cpu=2 */
pid$target:a.out:work:entry { trace(42); }
pid$target:a.out:work:return { printf("ret"); }
