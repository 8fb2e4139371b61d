/* flags: -q */
/* fire: pid$target:a.out:work:entry cpu=2 */
/* fire: pid$target:a.out:work:entry cpu=5 */
/*
 * sched.d's chip, pset and lgrp as dtrace-utils gives them on Linux: the
 * firing CPU's physical package (the host reads sysfs; the test host
 * answers cpu + 100), and 0 for the processor set and locality group,
 * which Linux does not have (dtrace-utils' sched/tst.var-chip.d,
 * tst.var-pset.d, tst.var-lgrp.d).
 */
pid$target:a.out:work:entry
{
	printf("cpu %d chip %d pset %d lgrp %d\n", cpu, chip, pset, lgrp);
}
