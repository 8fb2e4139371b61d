BEGIN { x = args[10]; }
