/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=5 */
/* fire: pid$target:a.out:work:entry arg0=50 */
/* fire: pid$target:a.out:work:entry arg0=500 */
pid$target:a.out:work:entry { @ll = llquantize(arg0, 10, 0, 3, 10); }
