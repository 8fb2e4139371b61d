/* flags: -q */
/*
 * aggsortkey sorts by key, aggsortkeypos from that key element (wrapping
 * around), aggsortrev backwards; setopt() of a switch to "false" unsets it
 * (dt_aggregate_qsort's options).
 */
BEGIN
{
	@a["b", 1] = sum(3);
	@a["a", 3] = sum(2);
	@a["c", 2] = sum(1);
	printa("%s %d %@d\n", @a);
	setopt("aggsortkey");
	printf("by key\n");
	printa("%s %d %@d\n", @a);
	setopt("aggsortkeypos", "1");
	printf("by key 1\n");
	printa("%s %d %@d\n", @a);
	setopt("aggsortrev");
	printf("by key 1, reversed\n");
	printa("%s %d %@d\n", @a);
	setopt("aggsortkey", "false");
	printf("by value, reversed\n");
	printa("%s %d %@d\n", @a);
	exit(0);
}
