double d;
BEGIN { x = (int)d; }
