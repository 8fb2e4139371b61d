BEGIN { mutex_owned(1, 2); }
