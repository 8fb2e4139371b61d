BEGIN { x = *(void *)arg0; }
