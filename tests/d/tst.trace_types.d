/* fire: pid$target:a.out:work:entry */
pid$target:a.out:work:entry { trace((char)1); trace((short)2); trace(3); trace(4LL); trace("five"); }
