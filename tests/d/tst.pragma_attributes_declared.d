/* flags: -q */
/* A pragma may name what the program declares after it. */
#pragma D attributes Evolving/evolving/ISA foo
#pragma D binding "1.1" bar
inline int foo = 3;
int bar;
BEGIN { printf("%d\n", foo); exit(0); }
