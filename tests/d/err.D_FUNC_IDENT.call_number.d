/* `tick-1()` is tick - 1(): only a name can be called (dt_node_func). */
BEGIN { @ = tick-1(); }
