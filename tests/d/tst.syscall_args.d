/* flags: -q */
/* argtypes: syscall::write:entry s8 s8 s8 */
/* fire: syscall::write:entry arg0=1 arg1=4096 arg2=12 */
/* args[] within a system call's arguments are its arguments. */
syscall::write:entry
{
	printf("%d %d %d\n", args[0], args[1], args[2]);
}
