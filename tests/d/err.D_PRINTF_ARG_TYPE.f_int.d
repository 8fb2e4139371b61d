BEGIN { printf("%f\n", 3); }
