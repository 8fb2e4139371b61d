BEGIN { uregs[R_RAX] = 0; }
