/* flags: -q */
/*
 * The system's network types without a declaration, as dtrace gets them
 * from the kernel's CTF: struct in_addr, struct in6_addr and its union,
 * in6_addr_t, sockaddr_in(6) and iphdr's bit-fields, laid out as Linux's
 * uapi headers (dtrace-utils' funcs/tst.inet_ntop.d,
 * bitfields/tst.bitfield-offset.d).
 */
struct iphdr iph;

BEGIN
{
	printf("%d %d %d %d %d %d\n", sizeof(struct in_addr), sizeof(struct in6_addr), sizeof(in6_addr_t),
	    sizeof(struct sockaddr_in), sizeof(struct sockaddr_in6), sizeof(struct iphdr));
	printf("%d %d %d\n", offsetof(struct sockaddr_in, sin_addr), offsetof(struct sockaddr_in6, sin6_addr),
	    offsetof(struct iphdr, daddr));
	a6 = (struct in6_addr *)alloca(sizeof(struct in6_addr));
	a6->in6_u.u6_addr8[0] = 0xfe;
	a6->in6_u.u6_addr8[1] = 0x80;
	a6->in6_u.u6_addr8[15] = 0x01;
	printf("%s %s %x\n", inet_ntoa6(a6), inet_ntop(AF_INET6, a6), a6->in6_u.u6_addr16[0]);
	t6 = (in6_addr_t *)a6;
	printf("%x\n", t6->in6_u.u6_addr32[3]);
	sin = (struct sockaddr_in *)alloca(sizeof(struct sockaddr_in));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0x7f000001);
	printf("%d %s\n", sin->sin_family, inet_ntoa((ipaddr_t *)((char *)sin + 4)));
	ip = (struct iphdr *)alloca(sizeof(struct iphdr));
	ip->ihl = 5;
	ip->version = 4;
	printf("%d %d %x\n", ip->ihl, ip->version, *(uint8_t *)ip);
	iph.ihl = 6;
	iph.version = 4;
	printf("%d %d %d\n", iph.ihl, iph.version, PCAP_IP);
	exit(0);
}
