/* flags: -q */
/* fire: tick-1s */
/* fire: tick-1s */
/* fire: tick-1s */
tick-1s { n++; printf("tick %d\n", n); }
tick-1s /n == 3/ { exit(0); }
