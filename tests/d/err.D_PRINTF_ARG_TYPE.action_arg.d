BEGIN { printf("%d\n", printf("x")); }
