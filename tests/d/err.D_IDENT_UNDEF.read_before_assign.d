/* Clauses are compiled in program order: END's read of start comes before
   BEGIN's assignment (dtrace-utils' end/err.D_IDENT_UNDEF.timespent). */
END { total = timestamp - start; }
BEGIN { start = timestamp; exit(0); }
