/* flags: -q */
/* sym: 0x401000 0x100 work */
/* sym: 0x7f0000 0x80 malloc libc.so.6 */
/* fire: pid$target:a.out:work:entry pc=0x401010 arg0=0x7f0004 */
pid$target:a.out:work:entry { printf("%a | %A\n", ufunc(uregs[R_PC]), uaddr(uregs[R_PC])); printf("%s %s\n", stringof(umod(arg0)), stringof(usym(arg0))); }
