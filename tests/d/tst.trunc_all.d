/* flags: -q */
BEGIN { @s["a"] = sum(1); trunc(@s); @s["z"] = sum(9); exit(0); }
