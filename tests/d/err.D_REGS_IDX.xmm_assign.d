/* flags: -w */
pid$target:a.out:work:entry { uregs[R_XMM0] = 1; }
