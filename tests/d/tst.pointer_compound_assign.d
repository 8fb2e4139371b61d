/* flags: -q */
/* += and -= on a pointer move it by whole objects. */
BEGIN { p = (int *)alloca(16); q = p; p += 2; c = (char *)q; c -= 1; printf("%d %d\n", (uint64_t)p - (uint64_t)q, (uint64_t)q - (uint64_t)c); exit(0); }
