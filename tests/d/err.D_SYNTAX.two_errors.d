BEGIN { x = ; }
END { y = 2 +; }
