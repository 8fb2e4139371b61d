/* flags: -q */
BEGIN { a = strtok("a,b,,c", ","); b = strtok(NULL, ","); c = strtok(NULL, ","); d = strtok(NULL, ","); printf("%s %s %s [%s]\n", a, b, c, d); exit(0); }
