/* Under D 1.1, which introduced it, strstr is the built-in. */
#pragma D option version=1.1

int strstr;
