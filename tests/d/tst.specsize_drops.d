/* flags: -q -x specsize=10 */
/* fire: pid$target:a.out:work:entry repeat=4 */
/*
 * specsize bounds what a speculation buffers: each printf below records 4
 * bytes, so two fit in 10 and the next two are dropped, counted and
 * reported as dtrace reports speculative drops.
 */
BEGIN { s = speculation(); }
pid$target:a.out:work:entry { speculate(s); printf("%d..\n", i++); }
END { commit(s); }
