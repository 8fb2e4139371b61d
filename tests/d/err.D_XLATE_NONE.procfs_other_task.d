/*
 * Only the current thread's psinfo_t is translated: another task_struct
 * is the kernel's memory.
 */
struct task_struct *T;

BEGIN
{
	trace(xlate < psinfo_t > (T).pr_pid);
}
