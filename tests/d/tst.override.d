/* flags: -q -w */
/* fire: pid$target:a.out:work:return retval=1 */
pid$target:a.out:work:return { override(-1); printf("retval now %d\n", retval); }
