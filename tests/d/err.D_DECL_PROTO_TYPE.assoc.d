/* A prototype takes no associative array (D_DECL_PROTO_TYPE). */
int a(int b[int]);
