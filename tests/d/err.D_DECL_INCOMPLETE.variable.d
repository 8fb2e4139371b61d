struct fwd;

struct fwd v;
