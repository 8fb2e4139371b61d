/* A ?: with one branch from alloca() and one not cannot be stored into a
   variable (dt_cook_ternary's DT_NF_NONASSIGN; dtrace-utils'
   funcs/alloca/err.D_ALLOCA_INCOMPAT.ternary). */
BEGIN
{
	a = (char *)alloca(1);
	b = a ? a + 1 : a;
	a = (a == NULL) ? (char *)50 : a;
}
