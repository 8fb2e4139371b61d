BEGIN { v = alloca(8); v += 1; }
