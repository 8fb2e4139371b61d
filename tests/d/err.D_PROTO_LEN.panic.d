BEGIN { panic("now"); }
