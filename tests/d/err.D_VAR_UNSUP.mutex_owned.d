BEGIN { mutex_owned(0); }
