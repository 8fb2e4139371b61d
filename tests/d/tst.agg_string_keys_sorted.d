/* flags: -q */
/* fire: pid$target:a.out:b:entry */
/* fire: pid$target:a.out:a:entry */
/* fire: pid$target:a.out:a:entry */
/* fire: pid$target:a.out:c:entry repeat=3 */
pid$target:a.out::entry { @[probefunc] = count(); }
END { printa("%s=%@d\n", @); }
