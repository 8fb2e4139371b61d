pid$target::work:entry { stack(5); }
