BEGIN { @ = llquantize(1, 10, 0, 3, 10); @ = llquantize(2, 10, 0, 3, 5); }
