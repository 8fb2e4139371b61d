#!/usr/bin/env bash
# bench/arm.sh — time to arm `pid$target:libc.so.6::entry` (every function
# in libc) on a launched /bin/true: the median wall time of the traced run
# minus the untraced run, with the number of probes armed.
set -uo pipefail
build=${1:-build}
runs=${RUNS:-5}
pk="$build/probekit"
now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t=() b=()
for _ in $(seq "$runs"); do
  s=$(now_ns); /bin/true; e=$(now_ns); b+=($((e - s)))
  s=$(now_ns)
  "$pk" -n 'pid$target:libc.so.6::entry { @[probefunc] = count(); }' -c /bin/true >/dev/null 2>/tmp/pk_arm_err.txt
  e=$(now_ns); t+=($((e - s)))
done
probes=$(grep -o 'matched [0-9]* probes' /tmp/pk_arm_err.txt | grep -o '[0-9]*')
skipped=$(grep -o '[0-9]* probes skipped' /tmp/pk_arm_err.txt | grep -o '^[0-9]*')
ms=$(( ($(median "${t[@]}") - $(median "${b[@]}")) / 1000000 ))
echo "arming pid\$target:libc.so.6::entry: ${probes:-?} probes armed (${skipped:-0} skipped as unsafe), ${ms} ms (median of $runs, /bin/true, includes its run and every hit)"
