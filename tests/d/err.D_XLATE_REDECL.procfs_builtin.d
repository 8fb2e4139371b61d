/*
 * procfs.d's translator to lwpsinfo_t from the kernel's task_struct is
 * built in: redeclaring it is D_XLATE_REDECL (dtrace-utils'
 * types/err.D_XLATE_REDECL.ResultDynType.d).
 */
translator lwpsinfo_t < struct task_struct *T >
{
	pr_lwpid = 1;
};
