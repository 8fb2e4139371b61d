/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=0 */
/* fire: pid$target:a.out:work:entry arg0=0x2000 */
/* mem: 0x2000 "fine" */
pid$target:a.out:work:entry { printf("before "); printf("%s\n", copyinstr(arg0)); }
