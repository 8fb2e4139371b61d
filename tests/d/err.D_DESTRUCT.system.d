BEGIN { system("ls"); }
