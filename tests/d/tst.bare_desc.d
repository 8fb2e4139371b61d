/* fire: pid$target:a.out:work:entry */
pid$target:a.out:work:entry
