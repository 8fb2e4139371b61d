/* flags: -q */
/* fire: syscall::read:return retval=-1 errno=11 */
/* fire: syscall::read:return retval=64 */
syscall::read:return /errno != 0/ { printf("read failed errno=%d\n", errno); }
syscall::read:return /errno == 0/ { printf("read %d bytes\n", retval); }
