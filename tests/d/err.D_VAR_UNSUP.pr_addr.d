BEGIN { trace(curlwpsinfo->pr_addr); }
