/* flags: -q -w */
/* fire: pid$target:a.out:work:entry */
pid$target:a.out:work:entry { stop(); raise(9); system("echo %d", pid); }
