/* flags: -q */
/* fire: pid$target:a.out:work:entry tid=7 */
/* fire: pid$target:a.out:work:entry tid=8 */
/* self->a[k, ...]: a thread-local associative array; each thread has its
   own elements, ++ and -- work on them as on any array element. */
self int y;
pid$target:a.out:work:entry
{
	self->x[self->y, "k"] = tid;
	self->x[self->y, "k"]++;
	self->n["a"] = 42;
	old = self->n["a"]--;
	printf("%d %d %d %d\n", tid, self->x[0, "k"], old, self->n["a"]);
	self->s["name"] = "thread";
	printf("%s\n", self->s["name"]);
}
END
{
	printf("%d\n", self->x[0, "k"]);
}
