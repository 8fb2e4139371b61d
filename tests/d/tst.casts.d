/* flags: -q */
/* casts truncate and re-extend as C does; %d of an unsigned value prints it unsigned (dtrace's pfcheck_dint) */
BEGIN { printf("%d %d %d %d %d\n", (uint8_t)300, (char)200, (int16_t)70000, (uint16_t)-1, (int)0x1ffffffff); printf("%d %d %d\n", (uint8_t)255, (unsigned char)-1, (uint32_t)-1); exit(0); }
