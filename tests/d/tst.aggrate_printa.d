/* flags: -q -x aggrate=4500ns -x switchrate=100ns */
/* fire: pid$target:a.out:work:entry repeat=8 */
/*
 * -x aggrate: printa() shows the consumer's copy of the aggregations,
 * taken at most every aggrate (dtrace-utils' options/tst.aggrate-slow.d):
 * the first copy at the first printa(), then one when aggrate has passed
 * since the last by the time the consumer wakes to read the record (every
 * switchrate here; the fake clock advances 1000ns per firing). In between,
 * printa() shows the same stale count.
 */
pid$target:a.out:work:entry { @ = count(); printa("%@d\n", @); }
