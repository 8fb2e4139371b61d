struct a { int x; };

struct a A[4];
