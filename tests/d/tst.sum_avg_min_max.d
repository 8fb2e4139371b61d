/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=10 */
/* fire: pid$target:a.out:work:entry arg0=20 */
/* fire: pid$target:a.out:work:entry arg0=60 */
pid$target:a.out:work:entry { @s = sum(arg0); @a = avg(arg0); @mn = min(arg0); @mx = max(arg0); @sd = stddev(arg0); }
