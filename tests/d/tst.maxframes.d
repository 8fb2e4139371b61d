/* flags: -q -x maxframes=2 */
/* sym: 0x401000 0x100 work */
/* sym: 0x402000 0x100 main */
/* sym: 0x7f0000 0x80 __libc_start_main libc.so.6 */
/* stack: 0x401010 0x402020 0x7f0010 */
/* fire: pid$target:a.out:work:entry */
/* maxframes bounds every user stack: ustack(), ustack(N) and ustackdepth */
pid$target:a.out:work:entry { ustack(); ustack(3); printf("%d\n", ustackdepth); }
