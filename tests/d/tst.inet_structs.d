/* flags: -q */
/* struct in6_addr and struct in_addr are known without a target, laid out
   as dtrace-utils has them from the kernel's CTF (dtrace-utils'
   funcs/inet_ntoa6/tst.inet_ntoa6, funcs/tst.inet_ntop). */
struct in6_addr *ip6;
struct in_addr *ip4;

BEGIN
{
	ip6 = alloca(sizeof(struct in6_addr));
	ip6->in6_u.u6_addr8[0] = 0xfe;
	ip6->in6_u.u6_addr8[1] = 0x80;
	ip6->in6_u.u6_addr8[15] = 0x01;
	ip4 = alloca(sizeof(struct in_addr));
	ip4->s_addr = htonl(0x7f000001);
	printf("%d %d %d\n", sizeof(struct in6_addr), sizeof(struct in_addr), ip6->in6_u.u6_addr16[0]);
	printf("%s %s\n", inet_ntoa6(ip6), inet_ntop(AF_INET, ip4));
	exit(0);
}
