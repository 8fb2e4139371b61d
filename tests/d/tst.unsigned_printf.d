/* flags: -q */
/* printf("%d") of an unsigned value prints it unsigned, whatever its width:
   dtrace's pfcheck_dint turns %d into %u when the argument's type is
   unsigned. The <linux/types.h> names (uint, ushort, ...) are types. */
unsigned int I;
uint64_t L;
BEGIN
{
	I = (unsigned int)-1;
	L = (uint64_t)-2;
	printf("%d %d %d %d\n", (uint8_t)-1, (uint16_t)-1, (uint32_t)-1, (uint64_t)-1);
	printf("%d %i %d %d\n", I, L, (int)I, (long long)L);
	printf("%d %d %d %d\n", (uint)-12345, (ushort)-1, (ulong)-1, (u_char)-1);
	printf("%d %d\n", sizeof(uint), sizeof(ulong));
	trace((uint32_t)-1);
	trace(" ");
	trace((uint64_t)-1);
	trace("\n");
	exit(0);
}
