BEGIN { a = 1, ; }
