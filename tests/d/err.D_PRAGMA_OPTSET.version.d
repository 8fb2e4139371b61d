#pragma D option version=2.1
BEGIN { exit(0); }
