/* flags: -q */
/* fire: pid$target:a.out:work:entry tid=7 */
/* fire: pid$target:a.out:work:entry tid=8 */
/* fire: pid$target:a.out:work:return tid=7 */
/* fire: pid$target:a.out:work:return tid=9 */
pid$target:a.out:work:entry { self->ts = timestamp; }
pid$target:a.out:work:return /self->ts/ { printf("tid %d took %d ns\n", tid, timestamp - self->ts); self->ts = 0; }
pid$target:a.out:work:return /!self->ts/ { printf("tid %d had no entry\n", tid); }
