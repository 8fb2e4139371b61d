/* fire: pid$target:a.out:work:entry arg0=3 tid=7 */
/* fire: pid$target:a.out:work:return arg1=5 tid=7 */
pid$target:a.out:work:entry { self->ts = timestamp; @c[probefunc] = count(); trace(arg0); }
pid$target:a.out:work:return /self->ts/ { @lat = quantize(timestamp - self->ts); self->ts = 0; }
