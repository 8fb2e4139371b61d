/* curlwpsinfo->pr_name is a char [16] (procfs.d): a constant index past it
   is dtrace's D_ARR_BOUNDS, before any other check (dtrace-utils'
   arrays/err.D_ARR_BOUNDS.ctf, err.D_ARR_BOUNDS.ctf-assignment). */
BEGIN
{
	trace(curlwpsinfo->pr_name[15]);
	curlwpsinfo->pr_name[256] = '0';
}
