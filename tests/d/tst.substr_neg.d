/* flags: -q */
BEGIN { s = "abcdef"; printf("[%s][%s][%s][%s]\n", substr(s, -2), substr(s, 2, -1), substr(s, 10), substr(s, 1, 100)); exit(0); }
