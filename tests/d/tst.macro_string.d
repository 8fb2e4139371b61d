/* flags: -q */
/* args: 7 */
BEGIN { printf("[%s] [%s]\n", $$1, $0); exit(0); }
