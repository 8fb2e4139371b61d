#pragma D option strsize=4x
BEGIN { exit(0); }
