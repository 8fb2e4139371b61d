/* flags: -q */
/* fire: pid$target:a.out:work:entry comm=sh */
/* fire: pid$target:a.out:work:entry comm=bash */
pid$target:a.out:work:entry /execname == "bash"/ { printf("bash!\n"); }
