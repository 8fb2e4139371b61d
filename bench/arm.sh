#!/usr/bin/env bash
# bench/arm.sh — time to arm `pid$target:libc.so.6::entry` (every function
# in libc) on a launched /bin/true: the median wall time of the traced run
# minus the untraced run, with the number of probes armed, for the jump
# backend (the default for a clause that only counts) and the trap backend.
# Then the same clause on a real program (perl building a hash), beside its
# untraced run time: what counting all of libc costs a program.
set -uo pipefail
build=${1:-build}
runs=${RUNS:-5}
pk="$build/probekit"
now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
clause='pid$target:libc.so.6::entry { @[probefunc] = count(); }'
for backend in auto trap; do
  t=() b=()
  for _ in $(seq "$runs"); do
    s=$(now_ns); /bin/true; e=$(now_ns); b+=($((e - s)))
    s=$(now_ns)
    "$pk" -v -x backend=$backend -n "$clause" -c /bin/true >/dev/null 2>/tmp/pk_arm_err.txt
    e=$(now_ns); t+=($((e - s)))
  done
  probes=$(grep -o 'matched [0-9]* probes' /tmp/pk_arm_err.txt | grep -o '[0-9]*')
  skipped=$(grep -o '[0-9]* probes skipped' /tmp/pk_arm_err.txt | grep -o '^[0-9]*')
  jumps=$(grep -c ': jump, counted in the agent' /tmp/pk_arm_err.txt)
  ms=$(( ($(median "${t[@]}") - $(median "${b[@]}")) / 1000000 ))
  echo "arming pid\$target:libc.so.6::entry, backend $backend: ${probes:-?} probes armed, $jumps of them jump probes (${skipped:-0} skipped as unsafe), ${ms} ms (median of $runs, /bin/true, includes its run and every hit)"
done
if command -v perl >/dev/null 2>&1; then
  script=$(mktemp /tmp/pk_bench_XXXX.pl)
  echo 'my %h; $h{$_} = "x" x ($_ % 50) for 1..20000; print scalar(keys %h), "\n";' > "$script"
  for what in untraced auto trap; do
    t=()
    for _ in $(seq "$runs"); do
      s=$(now_ns)
      if [ "$what" = untraced ]; then perl "$script" >/dev/null
      else "$pk" -q -x backend=$what -n "$clause" -c "perl $script" >/dev/null 2>&1; fi
      e=$(now_ns); t+=($((e - s)))
    done
    echo "perl building a 20000-key hash, libc counted ($what): $(( $(median "${t[@]}") / 1000000 )) ms"
  done
  rm -f "$script"
fi
