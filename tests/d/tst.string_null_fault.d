/* flags: -q */
/* A string function given NULL faults (invalid address), as dtrace's does:
   strlen(0), strtok() of a NULL string. */
BEGIN
{
	printf("%d\n", strlen(NULL));
	printf("not reached\n");
}
BEGIN
{
	strtok(strstr("abc", "def"), "");
	printf("not reached\n");
}
BEGIN
{
	exit(0);
}
ERROR
{
	printf("fault %d\n", arg4);
}
