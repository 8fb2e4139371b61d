/* flags: -q */
BEGIN { u = (uint32_t)0xffffffff; s = -1; printf("%d %d %u\n", u > 0, s < 0, u); exit(0); }
