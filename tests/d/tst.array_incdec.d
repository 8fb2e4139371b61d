/*
 * ++ and -- on an element of an array nothing has assigned yet declare its
 * values int64_t, as they do a new scalar's (dtrace gives any undefined
 * variable that type there).
 */
#pragma D option quiet
BEGIN { a[1]++; a[2]--; a[1]++; }
BEGIN { exit(0); }
END { printf("%d %d\n", a[1], a[2]); }
