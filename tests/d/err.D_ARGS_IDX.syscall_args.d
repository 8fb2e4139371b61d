/* argtypes: syscall::write:entry s8 s8 s8 */
/* fire: syscall::write:entry */
/* A system call's probe has the call's arguments only: write() has three
   (dtrace-utils' variables/bvar/err.D_ARGS_IDX.args-too-many). */
write:entry
{
	trace(args[2]);
	trace(args[3]);
}
