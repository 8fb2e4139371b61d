BEGIN { override(0); }
