/* flags: -q */
/* Linux's fixed-width typedefs (<asm-generic/int-ll64.h>, <linux/types.h>), as dtrace's kernel CTF has them. */
struct lt { __u8 a; __s8 b; __u16 c; __s16 d; __u32 e; __s32 f; __u64 g; __s64 h; u8 i; s64 j; __be32 k; loff_t l; };
BEGIN
{
	printf("%d %d %d %d %d %d\n", sizeof(__u8), sizeof(__s16), sizeof(u32), sizeof(s64), sizeof(__be16), sizeof(struct lt));
	x = (__s8)0xff;
	y = (__u8)0x1ff;
	printf("%d %d\n", x, y);
	exit(0);
}
