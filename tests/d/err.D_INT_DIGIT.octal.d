BEGIN { x = 019; }
