BEGIN { printf("%d and %**d\n", 1, 2, 3); }
