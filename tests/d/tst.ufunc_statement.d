/* flags: -q */
/* sym: 0x401000 0x100 work */
/* sym: 0x7f0000 0x80 malloc libc.so.6 */
/* fire: pid$target:a.out:work:entry pc=0x401010 arg0=0x7f0004 */
pid$target:a.out:work:entry { ufunc(uregs[R_PC]); usym(arg0); uaddr(uregs[R_PC]); umod(arg0); printf("|\n"); }
