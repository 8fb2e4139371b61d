/* flags: -q */
/* A char * given to printf's "%s" is the string it points to, as dtrace's
   pfcheck_str takes a pointer to char there; "%s" of an int * is still
   refused (err.D_PRINTF_ARG_TYPE.*). */
char *s;

BEGIN
{
	s = "hello";
	printf("%s|%8s|%-7.3s|%d\n", s, s, s, s != 0);
	exit(0);
}
