/* flags: -q */
BEGIN { printf("%d %d %d %d %c\n", 0x10, 010, 10, 'A', 'z'); exit(0); }
