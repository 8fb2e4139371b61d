BEGIN { printf("x");
