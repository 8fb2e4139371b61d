/* flags: -q */
BEGIN { @s["a"] = sum(1000); @s["b"] = sum(3000); normalize(@s, 1000); exit(0); }
