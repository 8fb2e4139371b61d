/* aggregations print as text or folded stacks */
#pragma D option aggfmt=svg
BEGIN { exit(0); }
