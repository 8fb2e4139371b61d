/* flags: -q */
BEGIN { trace(1); trace("two"); trace(-3); printf("\n"); exit(0); }
