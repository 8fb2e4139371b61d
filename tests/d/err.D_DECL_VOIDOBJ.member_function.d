struct s {
	int a;
	long f(int);
};
BEGIN { exit(0); }
