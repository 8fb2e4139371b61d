/*
 * A control line cut by the end of the file (dtrace-utils lexer/err.eof-in-pragma.d):
 * dt_lex.l's "end-of-file encountered before end of control line", not
 * an empty program.
 */
inline int foo = 0;
#pragma