/* flags: -q */
BEGIN { x = (uint16_t)1; printf("%d %d %d\n", sizeof(x), sizeof x, sizeof(timestamp)); exit(0); }
