/* flags: -q -x strsize=4 */
/*
 * strsize bounds every string recorded: trace(), printf()'s %s, a string
 * built by strjoin() and one read by copyinstr().
 */
/* mem: 0x2000 "abcdefghij" */
/* fire: pid$target:a.out:work:entry arg0=0x2000 */
pid$target:a.out:work:entry {
  trace("abcdefgh");
  printf(" %s %s %s\n", "12345678", strjoin("xy", "zwv"), copyinstr(arg0));
  exit(0);
}
