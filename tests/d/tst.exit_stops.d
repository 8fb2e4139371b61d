/* flags: -q */
/* fire: pid$target:a.out:work:entry repeat=5 */
pid$target:a.out:work:entry { n++; printf("fire %d\n", n); }
pid$target:a.out:work:entry /n == 2/ { exit(0); }
