/* flags: -q */
/* fire: pid$target:a.out:work:entry pc=0x401234 rax=42 */
pid$target:a.out:work:entry { printf("pc=%x rip=%x rax=%d\n", uregs[R_PC], uregs[R_RIP], uregs[R_RAX]); }
