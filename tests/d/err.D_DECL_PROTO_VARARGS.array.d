/* An array key list is not variable-length (D_DECL_PROTO_VARARGS). */
int a[...];
