/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=0xdead */
pid$target:a.out:work:entry { x = copyinstr(arg0); }
ERROR { printf("ERROR epid=%d action=%d fault=%d addr=%x\n", arg1, arg2, arg4, arg5); }
