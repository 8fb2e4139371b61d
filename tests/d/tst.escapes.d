/* flags: -q */
BEGIN { printf("tab[\t] quote[\"] backslash[\\] octal[\101] hex[\x42]\n"); exit(0); }
