/* flags: -q */
/* fire: pid$target:a.out:work:entry tid=7 */
/* fire: pid$target:a.out:work:return tid=7 */
/* fire: pid$target:a.out:work:return tid=7 */
pid$target:a.out:work:entry { self->in = 1; }
pid$target:a.out:work:return /self->in/ { printf("matched\n"); self->in = 0; }
pid$target:a.out:work:return /!self->in/ { printf("cleared\n"); }
