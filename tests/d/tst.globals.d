/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=1 */
/* fire: pid$target:a.out:work:entry arg0=2 */
/* fire: pid$target:a.out:work:entry arg0=3 */
BEGIN { total = 0; }
pid$target:a.out:work:entry { total += arg0; n++; }
END { printf("total=%d n=%d\n", total, n); }
