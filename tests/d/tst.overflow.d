/* flags: -q */
BEGIN { x = (int8_t)127; x++; y = (uint8_t)0; y--; printf("%d %u\n", x, y); exit(0); }
