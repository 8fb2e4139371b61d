/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=0x1000 */
pid$target:a.out:work:entry { p = (int *)arg0; q = p + 2; printf("%p %p %d\n", p, q, q - p); }
