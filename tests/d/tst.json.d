/* flags: -q -f json */
/* fire: pid$target:a.out:work:entry arg0=3 */
pid$target:a.out:work:entry { printf("work %d\n", arg0); @c[probefunc] = count(); @h = quantize(arg0); }
