double d;
BEGIN { x = -d; }
