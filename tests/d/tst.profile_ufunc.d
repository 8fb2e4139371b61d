/* flags: -q */
/* sym: 0x401000 0x100 work */
/* sym: 0x402000 0x100 main */
/* fire: pid$target:a.out:work:0 pc=0x401010 */
/* fire: pid$target:a.out:work:0 pc=0x401020 */
/* fire: pid$target:a.out:main:0 pc=0x402000 */
pid$target:a.out::0 { @[ufunc(uregs[R_PC])] = count(); }
