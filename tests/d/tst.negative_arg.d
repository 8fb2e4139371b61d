/* flags: -q */
/* fire: pid$target:a.out:work:entry arg0=-5 */
pid$target:a.out:work:entry { printf("%d %u %x\n", arg0, (uint32_t)arg0, (uint8_t)arg0); }
