/* flags: -q */
/* args[] typed from the probed function's parameters (DWARF, at registration):
   process(int id, const char *name, unsigned char flag, double ratio, long big) */
/* argtypes: pid$target:a.out:process:entry s4 str u1 f8 s8 */
/* mem: 0x5000 "widget" */
/* fire: pid$target:a.out:process:entry arg0=0xffffffff arg1=0x5000 arg2=0x1ff arg3=0x4004000000000000 arg4=-7 */
/* fire: pid$target:a.out:untyped:entry arg0=0xffffffff */
pid$target:a.out:process:entry {
  printf("id=%d arg0=%d name=%s %s flag=%d ratio=%.1f big=%d\n", args[0], arg0, copyinstr(args[1]),
         stringof(args[1]), args[2], args[3], args[4]);
  x = args[0];
  printf("x=%d neg=%d\n", x, args[0] < 0);
  trace(args[0]);
  trace(args[2]);
  printf("\n");
}
pid$target:a.out:untyped:entry { printf("untyped=%d\n", args[0]); }
