/* flags: -q */
/* fire: pid$target:a.out:work:entry */
/* fire: pid$target:a.out:worker:entry */
/* fire: pid$target:a.out:wx:entry */
/* fire: pid$target:a.out:play:entry */
pid$target:a.out:work*:entry { printf("star %s\n", probefunc); }
pid$target:a.out:w?:entry { printf("question %s\n", probefunc); }
pid$target:a.out:[pw][lo]*:entry { printf("class %s\n", probefunc); }
