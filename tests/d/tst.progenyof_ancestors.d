/* flags: -q */
/* fire: pid$target:a.out:work:entry */
/*
 * progenyof(P): the current process is P or one of its descendants, up to
 * init (dtrace-utils' funcs/tst.progenyof.d). In BEGIN the current process
 * is DTrace's own (the fake host's 999, child of 1); at the hit, the
 * target's 1234 (child of 1).
 */
BEGIN { printf("BEGIN %d %d %d %d\n", progenyof(999), progenyof(1), progenyof(1000), progenyof(0)); }
pid$target:a.out:work:entry { printf("hit %d %d %d %d\n", progenyof(pid), progenyof(ppid), progenyof(1), progenyof(pid + 1)); }
