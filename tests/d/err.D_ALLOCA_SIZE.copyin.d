#pragma D option scratchsize=128
BEGIN { p = copyin(0, 129); }
