BEGIN { x = curpsinfo->pr_pid; }
