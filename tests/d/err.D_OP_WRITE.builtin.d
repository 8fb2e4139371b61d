BEGIN { timestamp = 0; }
