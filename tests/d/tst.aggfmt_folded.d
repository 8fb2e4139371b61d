/* flags: -q -x aggfmt=folded */
/* sym: 0x401000 0x100 work */
/* sym: 0x402000 0x100 main */
/* sym: 0x7f0000 0x80 __libc_start_main libc.so.6 */
/* stack: 0x401010 0x402020 0x7f0010 */
/* fire: pid$target:a.out:work:entry repeat=3 */
/* folded stacks: root first, offsets dropped; printa() without a format
   prints them too, other output stays text */
pid$target:a.out:work:entry { @s[ustack()] = count(); @f[probefunc, execname] = sum(2); }
END { printf("stacks:\n"); printa(@s); printf("end\n"); }
