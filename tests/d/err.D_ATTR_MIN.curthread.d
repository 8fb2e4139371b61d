/* -x amin: curthread's data are Private (dt_open.c), below Evolving
   (dtrace-utils' stability/err.D_ATTR_MIN.MinAttributes). */
#pragma D option amin=Evolving/Evolving/Common
BEGIN
{
	trace(pid);
	trace(curthread);
}
