/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=5 */
/* fire: pid$target:a.out:work:entry arg0=50 */
/* fire: pid$target:a.out:work:entry arg0=500 */
pid$target:a.out:work:entry { printf("%s\n", arg0 < 10 ? "small" : arg0 < 100 ? "medium" : "large"); }
