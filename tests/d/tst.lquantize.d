/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=0 */
/* fire: pid$target:a.out:work:entry arg0=15 */
/* fire: pid$target:a.out:work:entry arg0=27 */
/* fire: pid$target:a.out:work:entry arg0=200 */
pid$target:a.out:work:entry { @l = lquantize(arg0, 0, 100, 10); }
