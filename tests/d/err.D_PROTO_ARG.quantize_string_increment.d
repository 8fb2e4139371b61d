BEGIN { @ = quantize(1, "two"); }
