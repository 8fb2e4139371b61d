BEGIN { @l = lquantize(1, 10, 5000000000, 1); }
