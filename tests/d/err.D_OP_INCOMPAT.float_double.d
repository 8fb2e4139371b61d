float f;
double d;
BEGIN { x = f < d; }
