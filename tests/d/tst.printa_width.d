/* flags: -q */
/* printa's %@ may follow the width (%8@d, as DTrace reads it); %? is the
   width of a pointer; a format without %@ prints only the keys. */
BEGIN
{
	@a["x"] = count();
	@a["yy"] = count();
	@a["yy"] = count();
	printa("%-3s|%8@d|\n", @a);
	printa("%s|%@-4d|\n", @a);
	printa("key %s\n", @a);
	printf("[%?p]\n", 0x1234);
	printf("[%-?x]\n", 0xab);
	printf("[%5d][%-5d][%05d][%*d][%.3s][%-8s]\n", 42, 42, 42, 6, 7, "abcdef", "ab");
	exit(0);
}
