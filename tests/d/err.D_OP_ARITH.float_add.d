double d;
BEGIN { x = d + 1; }
