/* flags: -q -x dynvarsize=640 */
/* fire: pid$target:a.out:f:entry repeat=15 */
/* fire: pid$target:a.out:g:entry */
/*
 * dynvarsize bounds the dynamic variables: an integer element of a
 * one-key array costs 64 bytes (32 header + 16 key + 8 key data + 8 value),
 * so 640 bytes hold 10. Stores of new elements past that are dropped and
 * counted (x[10] reads 0); storing 0 frees an element, and its bytes hold
 * the next one (x[100]).
 */
pid$target:a.out:f:entry { x[i] = i + 1; i++; }
pid$target:a.out:g:entry { x[0] = 0; x[100] = 7; x[101] = 8; }
END { printf("%d %d %d %d %d\n", x[0], x[9], x[10], x[100], x[101]); }
