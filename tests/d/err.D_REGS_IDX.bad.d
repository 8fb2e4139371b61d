BEGIN { x = uregs[-1]; }
