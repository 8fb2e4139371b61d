#!/usr/bin/env bash
# bench/run.sh — overhead per probe hit, in nanoseconds.
#
# For each probed function: (median wall time of the probed run - median of
# the unprobed run) / hits, over RUNS runs each. Compared in the same run
# against probekit's naive breakpoint (PROBEKIT_NAIVE_BREAKPOINTS=1: put the
# byte back, single-step, re-insert) and, where installed and permitted,
# bpftrace uprobes and uftrace on the same program.
set -uo pipefail
build=${1:-build}
calls=${CALLS:-200000}
runs=${RUNS:-5}
pk="$build/probekit"
hot="$build/bench/hot"

now_ns() { date +%s%N; }

# median of the arguments
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# time_runs CMD...: prints the median wall time in ns of RUNS runs.
time_runs() {
  local t=() s e
  for _ in $(seq "$runs"); do
    s=$(now_ns)
    "$@" >/dev/null 2>&1
    e=$(now_ns)
    t+=($((e - s)))
  done
  median "${t[@]}"
}

printf 'probekit per-hit overhead: %d calls per run, median of %d runs\n' "$calls" "$runs"
printf '%-10s %-22s %12s\n' "function" "mechanism" "ns/hit"
for fn in emulated boosted riprel; do
  base=$(time_runs "$hot" "$fn" "$calls")
  probed=$(time_runs "$pk" trace -C -c "$hot $fn $calls" "p:a.out:hot_$fn")
  naive=$(PROBEKIT_NAIVE_BREAKPOINTS=1 time_runs "$pk" trace -C -c "$hot $fn $calls" "p:a.out:hot_$fn")
  printf '%-10s %-22s %12d\n' "$fn" "probekit (trap)" $(((probed - base) / calls))
  printf '%-10s %-22s %12d\n' "$fn" "naive breakpoint" $(((naive - base) / calls))
done

if command -v bpftrace >/dev/null 2>&1; then
  if bpftrace -e "uprobe:$hot:hot_boosted { @ = count(); }" -c "$hot boosted 10" >/dev/null 2>&1; then
    b=$(time_runs bpftrace -e "uprobe:$hot:hot_boosted { @ = count(); }" -c "$hot boosted $calls")
    base=$(time_runs "$hot" boosted "$calls")
    printf '%-10s %-22s %12d\n' boosted "bpftrace uprobe" $(((b - base) / calls))
  else
    echo "bpftrace: installed but cannot attach uprobes on this kernel (not measured)"
  fi
else
  echo "bpftrace: not installed (not measured)"
fi
