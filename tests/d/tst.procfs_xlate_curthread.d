/* flags: -q */
/* fire: pid$target:a.out:work:entry tid=77 */
/*
 * procfs.d's translations of the current thread: xlate<lwpsinfo_t *>
 * (curthread)->M and xlate<psinfo_t>(curthread).M are curlwpsinfo->M and
 * curpsinfo->M, also through an inline (dtrace-utils'
 * translators/tst.TestTransStability.d).
 */
inline lwpsinfo_t *myinfo = xlate < lwpsinfo_t *> (curthread);

pid$target:a.out:work:entry
{
	printf("%d %d %d\n", myinfo->pr_lwpid, xlate < psinfo_t > (curthread).pr_pid,
	    xlate < lwpsinfo_t *> (curthread)->pr_lwpid == curlwpsinfo->pr_lwpid);
}
