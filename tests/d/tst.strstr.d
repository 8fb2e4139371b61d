/* flags: -q */
BEGIN { printf("[%s][%s]\n", strstr("haystack", "st"), strstr("haystack", "zz")); exit(0); }
