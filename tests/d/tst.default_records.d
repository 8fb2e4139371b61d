/* fire: pid$target:a.out:work:entry cpu=1 */
/* fire: pid$target:a.out:work:return cpu=1 */
/*
 * dtrace(1)'s default output: a line per firing that records data, none
 * for a clause that only aggregates or stores a variable; an empty clause
 * records its firing. When tracing stops, a blank line, then every
 * aggregation not printed yet, one after the other.
 */
pid$target:a.out:work:entry { @calls = count(); x = 1; }
pid$target:a.out:work:entry { trace(x); }
pid$target:a.out:work:return { @bytes = sum(4096); }
pid$target:a.out:work:return { }
