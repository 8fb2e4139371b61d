/* flags: -q */
/* A predicate may read a global its own clause assigns (dtrace tries the
   predicate again after the actions), and any assigned by an earlier clause. */
BEGIN { n = 1; }
BEGIN /m == 0 && n == 1/ { m = 2; printf("%d %d\n", n, m); exit(0); }
