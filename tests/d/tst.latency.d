/* flags: -q */
/* fire: pid$target:a.out:work:entry tid=1 */
/* fire: pid$target:a.out:work:return tid=1 */
/* fire: pid$target:a.out:work:entry tid=2 */
/* fire: pid$target:a.out:work:entry tid=1 */
/* fire: pid$target:a.out:work:return tid=2 */
/* fire: pid$target:a.out:work:return tid=1 */
pid$target:a.out:work:entry { self->ts = timestamp; }
pid$target:a.out:work:return /self->ts/ { @lat[probefunc] = quantize(timestamp - self->ts); self->ts = 0; }
