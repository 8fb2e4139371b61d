/* signal.d and errno.d constants, with Linux's values */
BEGIN { printf("%d %d %d %d %d\n", SIGUSR1, SIGKILL, SIGRTMIN, ENOENT, EAGAIN); exit(0); }
