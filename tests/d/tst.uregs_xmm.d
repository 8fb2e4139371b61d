/* flags: -q */
/* uregs[R_XMM0..R_XMM15]: the low 64 bits of the SSE registers */
/* fire: pid$target:a.out:work:entry xmm0=0x4004000000000000 xmm15=0x1122334455667788 */
pid$target:a.out:work:entry { printf("%x %x %x\n", uregs[R_XMM0], uregs[R_XMM15], uregs[R_XMM1]); }
