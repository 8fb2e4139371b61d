/* flags: -q */
/* A string meets NULL, 0 or a void * as DTrace's char arrays do: the NULL
   string (strchr()/strstr() finding nothing, strtok() at the end, s = NULL)
   is equal only to itself and less than every string, "" included. */
string n;
BEGIN
{
	s = "abc";
	printf("%d %d\n", s == NULL, s != NULL);
	this->l1 = strchr("abcdefghij", 'Z');
	this->l2 = strstr("ABCDEFGHIJ", "a");
	printf("%d %d %d\n", this->l1 == this->l2, this->l1 == NULL, this->l1 == 0);
	e = "";
	n = NULL;
	printf("%d %d %d %d\n", n == e, n < e, e > n, n == NULL);
	printf("%d %d\n", n < s, s >= n);
	printf("[%s] [%s]\n", n, strrchr("abc", 'q') == NULL ? "null" : "non-null");
	x = strtok("a,b", ",");
	y = strtok(NULL, ",");
	z = strtok(NULL, ",");
	printf("%s %s %d\n", x, y, z == NULL);
	t = n != NULL ? n : "fallback";
	printf("%s\n", t);
	exit(0);
}
