/* x -= v reads x, checked before v (dtrace-utils' funcs/err.D_VAR_UNDEF.badvar). */
BEGIN { p -= trace(0); }
