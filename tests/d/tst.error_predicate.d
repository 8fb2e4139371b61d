/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=0 */
pid$target:a.out:work:entry /100 % arg0/ { printf("never\n"); }
pid$target:a.out:work:entry { printf("next clause still runs\n"); }
