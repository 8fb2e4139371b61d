BEGIN { @l = lquantize(1, arg0, 10); }
