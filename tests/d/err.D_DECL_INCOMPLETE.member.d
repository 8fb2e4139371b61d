/* dtrace-utils' struct/err.D_DECL_INCOMPLETE.order: a member of a struct
   defined only later */
struct record {
	struct pirate p;
	int position;
};

struct pirate {
	int position;
};
