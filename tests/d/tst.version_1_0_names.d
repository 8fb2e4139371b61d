/* flags: -q */
/*
 * Identifiers D introduced after the version a program asks for are not
 * reserved under it: strstr() and the others came in D 1.1, print() in 2.0
 * (dtrace-utils' version/tst.1.0.d).
 */
#pragma D option version=1.0

int strstr;
int index;
int print;

BEGIN
{
	strstr = 3;
	printf("%d\n", strstr + index);
	exit(0);
}
