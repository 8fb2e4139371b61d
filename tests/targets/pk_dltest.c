// The library pk_dlopen loads late.
__attribute__((noipa)) long dl_func(long x) { return x + 100; }
