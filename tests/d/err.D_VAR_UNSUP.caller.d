pid$target::work:entry { trace(caller); }
