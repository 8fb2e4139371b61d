/* flags: -q -x dynvarsize=240 */
/* fire: pid$target:a.out:f:entry repeat=15 */
/* fire: pid$target:a.out:g:entry */
/*
 * dynvarsize bounds the dynamic variables: each takes dtrace-utils'
 * largest tuple and value (the 4-byte id, the int key, the 8-byte thread
 * key: 16, and the 8-byte value), 24 bytes, so 240 bytes hold 10.
 * Stores of new elements past that are dropped and counted (x[10] reads
 * 0); storing 0 frees an element, and its bytes hold the next one (x[100]).
 */
BEGIN { i = 0; }  /* dtrace knows globals in program order */
pid$target:a.out:f:entry { x[i] = (int64_t)i + 1; i++; }
pid$target:a.out:g:entry { x[0] = 0; x[100] = 7; x[101] = 8; }
END { printf("%d %d %d %d %d\n", x[0], x[9], x[10], x[100], x[101]); }
