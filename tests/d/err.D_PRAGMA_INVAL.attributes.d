#pragma D attributes Solid/Stable/Common foo
inline int foo = 1;
BEGIN { exit(foo); }
