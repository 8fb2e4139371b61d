/* copyin() allocates as alloca() does: a constant size past scratchsize is refused when compiled */
#pragma D option scratchsize=64

BEGIN
{
	copyin(0, 65);
}
