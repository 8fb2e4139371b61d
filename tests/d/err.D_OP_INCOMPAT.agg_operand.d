/* An aggregation has no value in an expression (dtrace-utils'
   aggs/err.D_OP_INCOMPAT.agg_in_expr). */
BEGIN { @a = count(); trace(@a + 3); }
