#pragma D option destructive
#pragma D option quiet
BEGIN { raise(15); exit(0); }
