/* flags: -q */
BEGIN { printf("one "); }
BEGIN { printf("two "); }
BEGIN { printf("three\n"); exit(0); }
