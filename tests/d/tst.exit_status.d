/* flags: -q */
BEGIN { printf("exiting\n"); exit(3); }
END { printf("end ran\n"); }
