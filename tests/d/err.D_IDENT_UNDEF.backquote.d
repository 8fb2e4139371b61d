BEGIN { trace(sizeof(`)); }
