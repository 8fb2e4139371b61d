/* flags: -q -w */
/* fire: pid$target:a.out:work:entry arg0=0x5000 */
pid$target:a.out:work:entry { copyoutstr("hi", arg0, 8); copyout(0x41424344, arg0 + 8, 4); }
