/* flags: -q */
BEGIN { @x["c"] = sum(30); @x["a"] = sum(10); @x["b"] = sum(20); @x["d"] = sum(5); exit(0); }
