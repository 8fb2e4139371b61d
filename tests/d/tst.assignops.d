/* flags: -q */
BEGIN { x = 10; x += 5; x -= 3; x *= 2; x /= 4; x %= 4; x |= 8; x &= 12; x ^= 1; x <<= 2; x >>= 1; printf("%d\n", x); exit(0); }
