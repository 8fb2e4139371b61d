BEGIN { x = 10; @ = lquantize(1, 0, x, 1); }
