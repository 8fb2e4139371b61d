/* flags: -q */
/* fire: pid$target:a.out:work:entry tid=3 */
/* fire: pid$target:a.out:work:entry tid=3 */
pid$target:a.out:work:entry { self->depth++; n++; printf("%d %d\n", self->depth, n); }
