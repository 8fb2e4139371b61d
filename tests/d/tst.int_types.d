/* flags: -q */
BEGIN { a = (unsigned char)255; b = (signed char)255; c = (unsigned short)65535; d = (long long)-5; e = (unsigned long)-1; printf("%u %d %u %d %u\n", a, b, c, d, e); exit(0); }
