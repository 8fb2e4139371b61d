// Shared-library fixture for elf_test: a SONAME, a version script that
// exports pk_lib_add at PKFIX_1.0 and hides the rest.
int pk_lib_hidden(int x) { return x * 7; }
int pk_lib_add(int a, int b) { return a + b + pk_lib_hidden(a); }
