enum foo`bar {
	A
};
