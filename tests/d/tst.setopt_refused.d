/* flags: -q */
/*
 * setopt() of an option it cannot set is an error of the consumer, reported
 * as dtrace reports it, and the clause goes on: an unknown name, a value the
 * option does not take, and an option only the command line sets.
 */
BEGIN
{
	setopt("Nixon");
	setopt("quiet", "um, no");
	setopt("bufsize", "1m");
	setopt("aggsortrev", "yes");
	printf("still running\n");
	exit(0);
}
