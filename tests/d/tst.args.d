/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=1 arg1=2 arg2=3 arg3=4 arg4=5 arg5=6 arg6=7 arg7=8 arg8=9 arg9=10 */
pid$target:a.out:work:entry { printf("%d %d %d %d %d %d %d %d %d %d | %d %d\n", arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7, arg8, arg9, args[0], args[9]); }
