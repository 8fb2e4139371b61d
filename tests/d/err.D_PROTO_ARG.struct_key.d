/* dtrace-utils' struct/err.D_PROTO_ARG.DupStructAssoc: keys of two struct types */
struct record {
	int position;
};
struct pirate {
	int position;
};

struct record r;
struct pirate p;

BEGIN
{
	assoc_array[r] = 1;
	assoc_array[p] = 2;
}
