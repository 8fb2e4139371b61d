/* a signal name is a constant */
BEGIN { SIGUSR1 = 3; }
