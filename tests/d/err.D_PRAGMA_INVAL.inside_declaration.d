inline int foo
#pragma D attributes Stable/Stable/Everywhere foo
= 1;
BEGIN { exit(foo); }
