/* flags: -q */
// a line comment
BEGIN /* inline */ { /* before */ printf("ok\n"); // after
  exit(0); }
