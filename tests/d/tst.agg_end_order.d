/* flags: -q */
BEGIN { @first = count(); @second = sum(5); printf("begin\n"); exit(0); }
END { printf("end\n"); }
