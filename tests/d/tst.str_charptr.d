/* flags: -q */
/* A string assigned to a char * is the address of its characters (both
   are dt_node_is_strcompat; dtrace-utils' codegen/tst.read_index_indirect_str),
   read in its strsize buffer; a char array member such as
   curlwpsinfo->pr_name casts to a char * (arrays/tst.ctf-bounds.oob-cast). */
#pragma D option strsize=16
char *s;

BEGIN
{
	s = probeprov;
	printf("%c %c %d %s\n", s[0], *(s + 5), s[12], stringof(s));
	p = (char *)curlwpsinfo->pr_name;
	printf("%d\n", ((char *)curlwpsinfo->pr_name)[15]);
	exit(0);
}
