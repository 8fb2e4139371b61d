/* void is the sole parameter or none (D_DECL_PROTO_VOID). */
int foo(int, void);
