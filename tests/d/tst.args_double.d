/* flags: -q */
/* args[N] of a float or double parameter is a floating value, typed from
   the function's DWARF when the program is compiled: its bits come from
   the parameter's SSE register (the nth floating parameter's, not the nth
   argument's): mix(float f, double d, int n, double e) */
/* argtypes: pid$target:a.out:mix:entry f4 f8 s4 f8 */
/* fire: pid$target:a.out:mix:entry arg0=0x3fc00000 arg1=0x4004000000000000 arg2=-3 arg3=0xc05ec00000000000 */
pid$target:a.out:mix:entry
{
	printf("f=%f d=%g n=%d e=%.2f\n", args[0], args[1], args[2], args[3]);
	printf("%e\n", args[3]);
	printf("%s\n", args[1] == args[1] ? "same" : "differ");
}
