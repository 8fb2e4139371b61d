double d;
BEGIN { printf("%d\n", d); }
