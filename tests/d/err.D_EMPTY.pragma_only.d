/* An empty program (only a pragma) is DTrace's D_EMPTY. */
#pragma D option quiet
