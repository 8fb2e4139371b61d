/* flags: -x nspec=1 -x specsize=64 */
/*
 * Default output with speculations, as dtrace(1) prints it (dtrace-utils'
 * speculation/tst.SpeculationDefaultCommit.d, drops/drp.DTRACEDROP_SPEC.d):
 * a clause whose only action is speculate() records its probe line in the
 * speculation, printed at the commit; the heading is printed with the
 * first line that reaches the output, so not for a speculation that is
 * dropped (too big for specsize) and never committed; commit() itself
 * prints no line, exit() does.
 */
BEGIN { self->spec = speculation(); }
BEGIN /self->spec/ { speculate(self->spec); }
BEGIN /self->spec/ { commit(self->spec); }
BEGIN { spec = speculation(); speculate(spec); trace("a string longer than the sixty-four bytes of specsize=64"); }
BEGIN { commit(spec); }
BEGIN { exit(0); }
