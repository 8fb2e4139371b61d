/* flags: -q */
/* fire: pid$target:a.out:work:entry tid=1240 cpu=3 comm=worker */
/* curpsinfo and curlwpsinfo: the members procfs.d translates, read from
   /proc of the process the probe fired in (the fake host's here), or of
   probekit itself in BEGIN */
pid$target:a.out:work:entry
{
	printf("%d %d %d %d %d\n", curpsinfo->pr_pid, curpsinfo->pr_ppid, curpsinfo->pr_pgid,
	    curpsinfo->pr_sid, curpsinfo->pr_nlwp);
	printf("%d %d %d %d\n", curpsinfo->pr_uid, curpsinfo->pr_euid, curpsinfo->pr_gid,
	    curpsinfo->pr_egid);
	printf("%s|%s|%d %x %x %d\n", curpsinfo->pr_fname, curpsinfo->pr_psargs, curpsinfo->pr_argc,
	    curpsinfo->pr_argv, curpsinfo->pr_envp, curpsinfo->pr_dmodel);
	printf("%d %d %d %d %d %d\n", curpsinfo->pr_wstat, curpsinfo->pr_taskid, curpsinfo->pr_projid,
	    curpsinfo->pr_nzomb, curpsinfo->pr_poolid, curpsinfo->pr_zoneid);
	printf("%d %d %d %c %d %s %d %d\n", curlwpsinfo->pr_lwpid, curlwpsinfo->pr_flag,
	    curlwpsinfo->pr_state, curlwpsinfo->pr_sname, curlwpsinfo->pr_pri, curlwpsinfo->pr_name,
	    curlwpsinfo->pr_onpro, curlwpsinfo->pr_wchan);
	printf("%c %d\n", curlwpsinfo->pr_name[0], curpsinfo->pr_ppid == ppid);
}

BEGIN
{
	printf("%d %d %s\n", curpsinfo->pr_pid, curpsinfo->pr_ppid == ppid, curpsinfo->pr_fname);
}
