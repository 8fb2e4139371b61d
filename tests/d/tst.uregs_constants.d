/* flags: -q */
/*
 * The R_* register numbers are dtrace-utils' x86-64 regs.d: the kernel's
 * pt_regs order, then R_DS R_ES R_FS R_GS R_TRAPNO; R_R1 is R_EBX.
 */
BEGIN
{
	printf("%d %d %d %d %d %d\n", R_PC, R_SP, R_R0, R_R1, R_CS, R_SS);
	printf("%d %d %d %d %d %d\n", R_DS, R_ES, R_FS, R_GS, R_TRAPNO, R_ERR);
	exit(0);
}
