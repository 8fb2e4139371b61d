// Built without -g: DebugInfo must report that names and types are unavailable.
int nodebug_add(int a, int b) { return a + b; }
int main(void) { return nodebug_add(1, 2) - 3; }
