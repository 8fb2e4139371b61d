BEGIN { ustack(-3); }
