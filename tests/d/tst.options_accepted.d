/* flags: -x bufsize=4m -x aggsize=1m -x dynvarsize=2m -x switchrate=10hz -x aggrate=500ms -x nspec=2 -x specsize=1k */
/*
 * The buffer and rate options DTrace users set are accepted with DTrace's
 * units (sizes k m g t, rates hz ns us ms s m h d), and version= names a
 * D version up to 2.0.
 */
#pragma D option quiet
#pragma D option version=1.1
#pragma D option strsize=16k
#pragma D option cleanrate=101hz
BEGIN { printf("ok\n"); exit(0); }
