BEGIN { @ = lquantize(1, 0, 10, 1); @ = lquantize(2, 0, 20, 1); }
