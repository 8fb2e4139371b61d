/* flags: -q */
/* mem: 0x3000 "ABCD" */
/* fire: pid$target:a.out:work:entry arg0=0x3000 */
pid$target:a.out:work:entry { printf("%x %c\n", *(uint32_t *)copyin(arg0, 4), *(char *)(arg0 + 1)); }
