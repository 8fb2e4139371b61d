pid$target::work:entry { tracemem(arg0, arg1); }
