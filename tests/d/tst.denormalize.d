/* flags: -q */
BEGIN { @s["a"] = sum(1000); normalize(@s, 10); denormalize(@s); exit(0); }
