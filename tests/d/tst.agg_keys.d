/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=1 tid=3 */
/* fire: pid$target:a.out:work:entry arg0=1 tid=4 */
/* fire: pid$target:a.out:work:entry arg0=2 tid=3 */
pid$target:a.out:work:entry { @[probefunc, tid] = sum(arg0); }
