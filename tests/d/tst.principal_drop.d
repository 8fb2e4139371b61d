/* flags: -q -x bufsize=1k -x strsize=300 */
/*
 * The principal buffer (dtrace-utils' drops/drp.DTRACEDROP_PRINCIPAL.d):
 * one firing's records must fit in bufsize. Each printf record here is
 * 24 + 300 bytes (a string at strsize): three fit in 1k, the fourth is
 * dropped and counted, exit()'s small record still fits. END is another
 * firing: the consumer has read the buffer by then.
 */
BEGIN { printf("%s\n", "a0"); }
BEGIN { printf("%s\n", "a1"); }
BEGIN { printf("%s\n", "a2"); }
BEGIN { printf("%s\n", "a3"); }
BEGIN { exit(0); }
END { printf("%s\n", "end"); }
