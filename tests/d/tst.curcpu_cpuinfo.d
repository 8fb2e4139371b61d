/* flags: -q */
/* fire: pid$target:a.out:work:entry cpu=3 */
/*
 * curcpu is sched.d's cpuinfo_t * for the firing CPU: cpu_id is the CPU,
 * cpu_chip its physical package (the test host answers cpu + 100), and
 * cpu_pset and cpu_lgrp 0 as dtrace-utils fills them on Linux
 * (sched/tst.var-curcpu.d, buffering/tst.ring3.d).
 */
cpuinfo_t *ci;

pid$target:a.out:work:entry
{
	ci = curcpu;
	printf("%d %d %d %d %d\n", ci->cpu_id, curcpu->cpu_chip, ci->cpu_pset, ci->cpu_lgrp, sizeof(cpuinfo_t));
	printf("%d\n", curcpu->cpu_id == cpu && curcpu->cpu_chip == chip);
}
