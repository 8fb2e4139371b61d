/* flags: -q -x defaultargs */
BEGIN { printf("[%d]\n", $3); exit(0); }
