/* flags: -q */
/* mem: 0x2000 "some/path/name.txt" */
/* fire: pid$target:a.out:open:entry arg0=0x2000 */
pid$target:a.out:open:entry { printf("%s|%s|%s\n", copyinstr(arg0), copyinstr(arg0, 4), basename(copyinstr(arg0))); }
