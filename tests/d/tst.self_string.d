/* flags: -q */
/* mem: 0x1000 "/etc/passwd" */
/* fire: syscall::open:entry arg0=0x1000 tid=5 */
/* fire: syscall::open:return retval=3 tid=5 */
syscall::open:entry { self->path = copyinstr(arg0); }
syscall::open:return /self->path != ""/ { printf("%s -> %d\n", self->path, retval); self->path = 0 == 0 ? "" : ""; }
