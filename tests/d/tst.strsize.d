/* flags: -q -x strsize=5 */
/* mem: 0x2000 "abcdefghij" */
/* fire: pid$target:a.out:work:entry arg0=0x2000 */
pid$target:a.out:work:entry { printf("%s %d\n", copyinstr(arg0), sizeof(string)); }
