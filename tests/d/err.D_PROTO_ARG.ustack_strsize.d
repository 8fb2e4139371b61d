BEGIN { ustack(5, "x"); }
