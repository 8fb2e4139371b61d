BEGIN { stop(); }
