/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=4 arg1=5 */
pid$target:a.out:work:entry { this->sum = arg0 + arg1; this->name = probefunc; }
pid$target:a.out:work:entry { printf("%s %d\n", this->name, this->sum * 2); }
