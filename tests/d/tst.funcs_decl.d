/* flags: -q */
/* Function declarations, as a header declares them, are accepted (D cannot
   call them): prototypes, varargs, pointers to functions, extern arrays. */
extern int getint(void);
extern int *getptr(void);
extern int *(*funcptr)(void);
extern int noparms();
extern int twoparms(int, char *name);
extern int varargs1(...);
extern int varargs2(int, ...);
extern int a1[], a3[12][34];
int foo(register int);
BEGIN
{
	printf("declared\n");
	exit(0);
}
