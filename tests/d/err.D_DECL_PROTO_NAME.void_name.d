/* A void parameter has no name (D_DECL_PROTO_NAME). */
int a(void v);
