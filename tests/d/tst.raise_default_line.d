/* flags: -w */
/* fire: pid$target:a.out:work:entry */
/* fire: pid$target:a.out:work:return */
/* fire: pid$target:a.out:main:entry */
/*
 * raise(), stop() and chill() are records of their own (DTRACEACT_RAISE,
 * _STOP, _CHILL): without -q each firing has its probe line, as exit()'s
 * has (dtrace-utils' actions/raise/tst.raise1.d expects "ioctl:entry").
 */
pid$target:a.out:work:entry { raise(2); }
pid$target:a.out:work:return { stop(); }
pid$target:a.out:main:entry { chill(1000); }
