/* flags: -q */
BEGIN { x = 0; y = 0 && (x = 5); z = 1 || (x = 7); printf("%d %d %d\n", x, y, z); exit(0); }
