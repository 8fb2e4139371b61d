/* flags: -q */
BEGIN { printf("%s %s %s %s\n", lltostr(1234), lltostr(-56), lltostr(255, 16), lltostr(8, 2)); exit(0); }
