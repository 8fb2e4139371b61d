#!/usr/bin/env bash
# bench/dclause.sh — where the time of a D clause in the agent goes.
#
# usage: bash bench/dclause.sh [BUILD]   (RUNS=7 PACED_CALLS=200000)
#
# Each row traces bench/paced (no gap) with one D program and prints the
# program's CPU time per call above the untraced program's (paced's
# "cpu-ns/loop": on a loaded machine the wall time of the calls also holds
# the time other processes ran, the thread's CPU time does not), as
# native code (-x agentjit=on) and as bytecode for the agent's interpreter
# (-x agentjit=off). The rows add one cost at a time, so their differences
# are the breakdown in docs/architecture.md ("D in the agent"): a
# trampoline that calls the agent and a global store (no thread, no time),
# then the thread's slot (self->), then the time (timestamp), then an
# aggregation, then the two halves of a return probe. ROWS=REGEX runs only
# the rows whose label matches. Best of RUNS, one
# CPU (taskset -c 0), everything in the same minutes.
set -uo pipefail
build=${1:-build}
runs=${RUNS:-7}
n=${PACED_CALLS:-200000}
pk="$build/probekit"
paced="$build/bench/paced"
pre=()
command -v taskset >/dev/null && pre=(taskset -c 0)

# best CMD... — the lowest of RUNS cpu-ns/loop the program printed.
best() {
  local v=()
  for _ in $(seq "$runs"); do
    v+=("$("${pre[@]}" "$@" 2>/dev/null | sed -n 's/^\([0-9.]*\) cpu-ns\/loop.*/\1/p' | head -1)")
  done
  printf '%s\n' "${v[@]}" | grep . | sort -n | head -1
}

base=$(best "$paced" "$n" 0)
printf 'untraced: %s cpu-ns/loop; load average %s\n' "$base" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-58s %8s %8s\n' "clause (pid\$target:a.out:paced_hit:...)" native bytecode
row() {
  local name=$1 prog=$2 on off
  [[ -n ${ROWS:-} && ! $name =~ $ROWS ]] && return
  on=$(best "$pk" -q -x agentjit=on -n "$prog" -c "$paced $n 0")
  off=$(best "$pk" -q -x agentjit=off -n "$prog" -c "$paced $n 0")
  awk -v n="$name" -v a="$on" -v b="$off" -v z="$base" \
    'BEGIN { printf "%-58s %8.1f %8.1f\n", n, (a == "" ? 0 : a - z), (b == "" ? 0 : b - z) }'
}
P='pid$target:a.out:paced_hit'
# The issue's per-hit figures first (a counting jump site, a predicate
# the trampoline rejects), then copyinstr of a literal in the executable
# (read directly, no system call: agent.c safe_read).
row "entry { @[probefunc] = count(); }" "$P:entry { @[probefunc] = count(); }"
row "entry /arg0 == 12345/ { @ = count(); }" "$P:entry /arg0 == 12345/ { @ = count(); }"
row "entry { @[copyinstr(arg2)] = count(); }" "$P:entry { @[copyinstr(arg2)] = count(); }"
# Strings kept by the process's threads together: a string global, an
# array keyed by one, an array of them.
row "entry { last = copyinstr(arg2); }" "$P:entry { last = copyinstr(arg2); }"
row "entry { a[copyinstr(arg2)]++; }" "$P:entry { a[copyinstr(arg2)]++; }"
row "entry { v[arg0 & 7] = copyinstr(arg2); }" "$P:entry { v[arg0 & 7] = copyinstr(arg2); }"
# An array of integers shared by the threads (AADD: pk_agent_dvm_op, a
# CAS-claimed entry, an atomic add) and ustack() as a key (USTACK: the
# walk of the rbp chain through the fault-safe reader, the thread's stack
# table; two frames: paced is built without frame pointers, so a deeper
# walk follows a garbage rbp chain and every call is a new stack).
row "entry { a[arg0 & 7] += arg0; }" "$P:entry { a[arg0 & 7] += arg0; }"
row "entry { @[ustack(2)] = count(); }" "$P:entry { @[ustack(2)] = count(); }"
row "entry { g = arg0; }" "$P:entry { g = arg0; }"
row "entry { self->x = arg0; }" "$P:entry { self->x = arg0; }"
row "entry { self->x = timestamp; }" "$P:entry { self->x = timestamp; }"
row "entry { @[arg0 & 7] = count(); }" "$P:entry { @[arg0 & 7] = count(); }"
row "entry { @ = quantize(arg0 - self->x); self->x = arg0; }" "$P:entry { @ = quantize(arg0 - self->x); self->x = arg0; }"
row "return { g = arg1; }" "$P:return { g = arg1; }"
row "retlat: entry { self->ts = timestamp; } return /self->ts/ ..." \
  "$P:entry { self->ts = timestamp; } $P:return /self->ts/ { @ = quantize(timestamp - self->ts); self->ts = 0; }"
