/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=1 */
/* fire: pid$target:a.out:work:entry arg0=5 */
/* fire: pid$target:a.out:work:entry arg0=6 */
/* fire: pid$target:a.out:work:entry arg0=100 */
pid$target:a.out:work:entry { @q = quantize(arg0); }
