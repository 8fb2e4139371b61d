BEGIN { x = (double)arg0; }
