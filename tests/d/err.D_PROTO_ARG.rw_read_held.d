BEGIN { rw_read_held("x"); }
