/* A parameter has no storage class but register (D_DECL_PARMCLASS). */
int foo(static int);
