BEGIN { @s = sum("x"); }
