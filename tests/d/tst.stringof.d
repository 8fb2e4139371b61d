/* flags: -q */
/* mem: 0x4000 "pointer text" */
/* fire: pid$target:a.out:work:entry arg0=0x4000 */
pid$target:a.out:work:entry { printf("%s %s\n", stringof((char *)arg0), stringof("plain")); }
