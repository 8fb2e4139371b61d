BEGIN { trace($bogus); }
