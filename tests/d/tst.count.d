/* flags: -q */
/* fire: pid$target:a.out:work:entry repeat=3 */
/* fire: pid$target:a.out:play:entry repeat=2 */
pid$target:a.out::entry { @calls[probefunc] = count(); }
