/* flags: -q */
/* the x86-64 register names of dtrace's regs.d, 32-bit spellings too */
BEGIN
{
	printf("%d %d %d %d %d %d %d\n", R_RAX, R_EAX, R_ERR, R_EIP, R_ESP, R_EFL, R_EBP);
	printf("%d\n", R_EAX == R_RAX && R_EBX == R_RBX && R_ECX == R_RCX && R_EDX == R_RDX && R_ESI == R_RSI &&
	    R_EDI == R_RDI && R_PC == R_RIP && R_SP == R_RSP && R_FP == R_RBP && R_PS == R_RFL);
	exit(0);
}
