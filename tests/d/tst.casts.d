/* flags: -q */
BEGIN { printf("%d %d %d %d %d\n", (uint8_t)300, (char)200, (int16_t)70000, (uint16_t)-1, (int)0x1ffffffff); printf("%u\n", (uint16_t)-1); exit(0); }
