/* flags: -q -x aggsize=560 */
/* fire: pid$target:a.out:f:entry repeat=15 */
/* fire: pid$target:a.out:g:entry repeat=2 */
/*
 * aggsize bounds every aggregation's keys together: an integer-keyed count()
 * costs 56 bytes (32 key header + 8 aggregation id + 8 key + 8 value), so
 * 560 bytes hold 10 keys. The 11th to 15th new keys are dropped and counted;
 * keys already stored keep counting (@[0] below), and trunc() gives the
 * bytes back (@[15] fits after trunc()).
 */
pid$target:a.out:f:entry { @[i++] = count(); }
pid$target:a.out:g:entry { @[0] = count(); }
END { printa("%d %@d\n", @); trunc(@, 9); @[i] = count(); printa("%d %@d\n", @); }
