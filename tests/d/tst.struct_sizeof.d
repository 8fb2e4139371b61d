/* flags: -q */
/* struct, union and enum declarations: C's layout on x86-64 for sizeof and
   offsetof, enumerators as integer constants. */
struct point {
	int x;
	char tag;
	int64_t y;
};

struct record {
	char name[13];
	struct point where;
	short kind;
	uint8_t *data;
};

union word {
	uint8_t bytes[4];
	int value;
	short half;
};

enum color { RED, GREEN = 5, BLUE, LAST = BLUE * 2 };
typedef struct point point_t;
typedef enum color color_t;
color_t c;
struct point *p;
point_t *q;

BEGIN
{
	c = BLUE;
	printf("point %d x@%d tag@%d y@%d\n", sizeof (struct point), offsetof(struct point, x),
	    offsetof(struct point, tag), offsetof(struct point, y));
	printf("record %d where@%d kind@%d data@%d\n", sizeof (struct record), offsetof(struct record, where),
	    offsetof(struct record, kind), offsetof(struct record, data));
	printf("word %d point_t %d ptr %d\n", sizeof (union word), sizeof (point_t), sizeof (struct point *));
	printf("colors %d %d %d %d c=%d %d\n", RED, GREEN, BLUE, LAST, c, sizeof (color_t));
	p = (struct point *)0x1000;
	q = (point_t *)0x2000;
	printf("%s %s %d\n", p == 0x1000 ? "p" : "?", q == 0x2000 ? "q" : "?", sizeof "hi");
	exit(0);
}
