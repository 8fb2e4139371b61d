/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=0xdead */
/* dtrace-utils' ERROR arguments: arg1 the probe ID, arg2 the clause's place
   in the program, arg4 the fault, arg5 the address; the error is printed too. */
pid$target:a.out:work:entry { x = copyinstr(arg0); }
ERROR { printf("ERROR probe=%d clause=%d fault=%d addr=%x\n", arg1, arg2, arg4, arg5); }
