/* flags: -q */
/* bytes: 0x3000 c0a80001 */
/* bytes: 0x4000 20010db8000000000000000000000001 */
/* bytes: 0x5000 00000000000000000000ffff7f000001 */
/* fire: pid$target:a.out:connect:entry arg0=0x3000 arg1=0x4000 arg2=0x5000 */
pid$target:a.out:connect:entry
{
	printf("%s %s %s\n", inet_ntoa((ipaddr_t *)arg0), inet_ntoa6((struct in6_addr *)arg1), inet_ntoa6(arg2));
	printf("%s %s\n", inet_ntop(AF_INET, arg0), inet_ntop(AF_INET6, arg1));
}
pid$target:a.out:connect:entry { printf("%s\n", inet_ntop(1, arg0)); }
