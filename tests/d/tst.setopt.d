BEGIN { setopt("quiet"); printf("now quiet\n"); exit(0); }
