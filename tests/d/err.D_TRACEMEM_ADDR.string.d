pid$target::work:entry { tracemem("abc", 4); }
