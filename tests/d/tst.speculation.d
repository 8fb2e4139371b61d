/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=1 tid=1 */
/* fire: pid$target:a.out:work:return arg1=0 tid=1 */
/* fire: pid$target:a.out:work:entry arg0=2 tid=1 */
/* fire: pid$target:a.out:work:return arg1=1 tid=1 */
pid$target:a.out:work:entry { self->spec = speculation(); }
pid$target:a.out:work:entry /self->spec/ { speculate(self->spec); printf("entry arg0=%d\n", arg0); }
pid$target:a.out:work:return /self->spec && arg1 != 0/ { commit(self->spec); self->spec = 0; }
pid$target:a.out:work:return /self->spec && arg1 == 0/ { discard(self->spec); self->spec = 0; }
