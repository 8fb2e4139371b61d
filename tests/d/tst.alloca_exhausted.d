/* flags: -q */
/* scratch space is 64KiB per firing: more is DTRACEFLT_NOSCRATCH */
BEGIN { this->p = alloca(60000); trace("one "); this->q = alloca(60000); trace("two"); }
ERROR { printf("\nfault %d\n", arg4); exit(0); }
