/* retprobe takes a mechanism name: the engine binding reads it */
#pragma D option retprobe=hijack
BEGIN { printf("ok\n"); exit(0); }
