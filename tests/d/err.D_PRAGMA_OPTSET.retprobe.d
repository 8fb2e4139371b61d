/* the return probe mechanism is one of auto, ret-site, hijack */
#pragma D option retprobe=sometimes
BEGIN { exit(0); }
