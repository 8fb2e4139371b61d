/* Two strings do not add: dt_cook_op2 takes both as pointers (D_OP_INCOMPAT). */
BEGIN { x = "a" + "b"; }
