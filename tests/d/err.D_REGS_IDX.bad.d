BEGIN { x = uregs[99]; }
