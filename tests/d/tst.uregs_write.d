/* flags: -q -w */
/* fire: pid$target:a.out:work:return rax=1 */
pid$target:a.out:work:return { uregs[R_RAX] = 99; printf("rax now %d\n", uregs[R_RAX]); }
