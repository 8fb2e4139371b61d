/* flags: -q */
/* Typed declarations keep their types: stores are converted to them. */
int x;
uint64_t y;
string s;
int64_t big;
char c;
int a[5];
int assoc[string];
self int depth;
this int t;
inline int N = 5;
inline string NAME = "probekit";
typedef unsigned char byte_t;
byte_t b;
extern int ext;
int x;	/* the same declaration again is allowed */

BEGIN
{
	printf("x=%d y=%d s=\"%s\" depth=%d ext=%d\n", x, y, s, self->depth, ext);
	x = 0x100000001;
	c = 300;
	b = 257;
	big = 0x100000001;
	a[0] = N;
	a[N - 1] = N * 2;
	assoc["k"] = 3;
	this->t = 7;
	self->depth++;
	s = NAME;
	printf("x=%d c=%d b=%d big=%d a[0]=%d a[4]=%d a[1]=%d assoc=%d this=%d self=%d\n", x, c, b, big, a[0], a[4],
	    a[1], assoc["k"], this->t, self->depth);
	printf("%s %d %d %d %d\n", s, sizeof (byte_t), sizeof (x), sizeof (big), sizeof "hi");
	exit(0);
}
