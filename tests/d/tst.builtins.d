/* flags: -q */
/* fire: pid$target:a.out:work:entry tid=77 cpu=3 comm=server */
pid$target:a.out:work:entry { printf("%s %s %s %s pid=%d tid=%d cpu=%d exec=%s uid=%d gid=%d\n", probeprov, probemod, probefunc, probename, pid, tid, cpu, execname, uid, gid); }
