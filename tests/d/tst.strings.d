/* flags: -q */
BEGIN { s = "hello, world"; printf("%d|%s|%s|%s|%d|%d\n", strlen(s), strjoin("ab", "cd"), substr(s, 7), substr(s, 0, 5), index(s, "o"), rindex(s, "o")); exit(0); }
