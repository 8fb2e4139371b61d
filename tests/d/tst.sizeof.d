/* flags: -q */
BEGIN { printf("%d %d %d %d %d %d %d\n", sizeof(char), sizeof(short), sizeof(int), sizeof(long), sizeof(long long), sizeof(uint8_t), sizeof(int32_t)); exit(0); }
