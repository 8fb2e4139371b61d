/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=1 */
/* fire: pid$target:a.out:work:entry arg0=20 */
/* fire: pid$target:a.out:work:entry arg0=300 */
pid$target:a.out:work:entry /arg0 > 10 && arg0 < 100/ { printf("mid %d\n", arg0); }
pid$target:a.out:work:entry /arg0 / 100 >= 1/ { printf("big %d\n", arg0); }
