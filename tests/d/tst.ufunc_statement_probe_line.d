/* sym: 0x401000 0x100 work */
/* fire: pid$target:a.out:work:entry pc=0x401010 */
pid$target:a.out:work:entry { ufunc(uregs[R_PC]); }
