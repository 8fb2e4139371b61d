BEGIN { x = 1 ? trace(0) : trace(1); }
