/* flags: -q */
/* ++ and -- on a pointer move it by one object. */
BEGIN { q = (long *)alloca(32); p = q; p++; p++; p--; ++p; printf("%d\n", (uint64_t)p - (uint64_t)q); exit(0); }
