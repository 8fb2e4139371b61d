#pragma D option quiet
BEGIN { printf("quiet by pragma\n"); exit(0); }
