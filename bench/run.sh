#!/usr/bin/env bash
# bench/run.sh — overhead per probe hit, in nanoseconds.
#
# Each configuration runs the hot loop at two call counts, SMALL and CALLS,
# RUNS times each; the overhead per hit is the slope of the median wall time
# minus the slope of the unprobed program:
#     ((T(CALLS) - T(SMALL)) - (B(CALLS) - B(SMALL))) / (CALLS - SMALL)
# so fixed costs — probekit attaching, bpftrace loading its BPF program —
# cancel out and only the per-hit cost remains, for every tool alike.
#
# Compared in the same run: probekit's jump backend (a counting probe
# patched with a jmp into the in-process agent: no stop per hit; measured
# between JUMP_SMALL and JUMP_CALLS calls, since a hit costs nanoseconds),
# probekit's trap backend on three first instructions (emulated,
# out-of-line copy, rip-relative copy), probekit's
# naive breakpoint (PROBEKIT_NAIVE_BREAKPOINTS=1: put the byte back,
# single-step, re-insert), and bpftrace uprobes where bpftrace works.
#
# PIN=1 (default) runs everything on one CPU (taskset -c 0): on a VM a
# ptrace stop whose tracer sleeps on another CPU pays a cross-CPU wake-up
# that dwarfs the probe's own cost, and varies run to run.
set -uo pipefail
build=${1:-build}
calls=${CALLS:-200000}
small=${SMALL:-$((calls / 10))}
runs=${RUNS:-5}
pin=${PIN:-1}
pk="$build/probekit"
hot="$build/bench/hot"
pre=()
[ "$pin" = 1 ] && command -v taskset >/dev/null && pre=(taskset -c 0)

now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# median_ns N CMD... — "@N" in CMD is replaced by N.
median_ns() {
  local n=$1; shift
  local t=() s e args=()
  for a in "$@"; do args+=("${a//@N/$n}"); done
  for _ in $(seq "$runs"); do
    s=$(now_ns)
    "${pre[@]}" "${args[@]}" >/dev/null 2>&1
    e=$(now_ns)
    t+=($((e - s)))
  done
  median "${t[@]}"
}

# slope CMD... — median ns per call between SMALL and CALLS.
slope() { echo $(( ($(median_ns "$calls" "$@") - $(median_ns "$small" "$@")) / (calls - small) )); }
# jslope CMD... — the same between JUMP_SMALL and JUMP_CALLS, in tenths of a ns.
jcalls=${JUMP_CALLS:-50000000}
jsmall=${JUMP_SMALL:-$((jcalls / 10))}
jslope() { echo $(( 10 * ($(median_ns "$jcalls" "$@") - $(median_ns "$jsmall" "$@")) / (jcalls - jsmall) )); }
tenths() { awk -v t="$1" 'BEGIN { printf "%.1f", t / 10 }'; }

printf 'per-hit overhead (ns): slope between %d and %d calls, median of %d runs%s\n' \
  "$small" "$calls" "$runs" "$([ ${#pre[@]} -gt 0 ] && echo ', pinned to CPU 0')"
printf '%-10s %-22s %10s\n' "function" "mechanism" "ns/hit"
for fn in emulated boosted riprel; do
  jbase=$(jslope "$hot" "$fn" @N)
  jump_t=$(jslope "$pk" trace -C --backend jump -c "$hot $fn @N" "p:a.out:hot_$fn")
  printf '%-10s %-22s %10s\n' "$fn" "probekit jump" "$(tenths $((jump_t - jbase)))"
  # uftrace's dynamic patching records an entry and an exit per call, where
  # it can patch the function at all (it reports nothing for some of these
  # five-byte functions: then no row).
  ufdir=/tmp/pk-bench-uftrace
  if command -v uftrace >/dev/null 2>&1 && [ "${UFTRACE:-1}" = 1 ] &&
     uftrace record -d "$ufdir" -P "hot_$fn" "$hot" "$fn" 10 >/dev/null 2>&1 &&
     uftrace report -d "$ufdir" 2>/dev/null | grep -q "hot_$fn"; then
    u=$(jslope uftrace record -d "$ufdir" -P "hot_$fn" "$hot" "$fn" @N)
    printf '%-10s %-22s %10s\n' "$fn" "uftrace -P (entry+exit)" "$(tenths $((u - jbase)))"
  fi
  base=$(slope "$hot" "$fn" @N)
  trap_ns=$(slope "$pk" trace -C --backend trap -c "$hot $fn @N" "p:a.out:hot_$fn")
  naive_ns=$(PROBEKIT_NAIVE_BREAKPOINTS=1 slope "$pk" trace -C --backend trap -c "$hot $fn @N" "p:a.out:hot_$fn")
  printf '%-10s %-22s %10d\n' "$fn" "probekit trap" $((trap_ns - base))
  printf '%-10s %-22s %10d\n' "$fn" "naive breakpoint" $((naive_ns - base))
  if [ "${BPFTRACE:-1}" = 1 ] && command -v bpftrace >/dev/null 2>&1 &&
     bpftrace -e "uprobe:$hot:hot_$fn { @ = count(); }" -c "$hot $fn 10" >/dev/null 2>&1; then
    b=$(slope bpftrace -e "uprobe:$hot:hot_$fn { @ = count(); }" -c "$hot $fn @N")
    printf '%-10s %-22s %10d\n' "$fn" "bpftrace uprobe" $((b - base))
  fi
done
# Return probes on hot_boosted (lea; ret): the return alone and entry +
# return, for both mechanisms, beside the entry-only figure above.
base=$(slope "$hot" boosted @N)
for mech in ret-site hijack; do
  r_ns=$(slope "$pk" trace -C --backend trap --return-mechanism "$mech" -c "$hot boosted @N" "r:a.out:hot_boosted")
  pr_ns=$(slope "$pk" trace -C --backend trap --return-mechanism "$mech" -c "$hot boosted @N" "p:a.out:hot_boosted" "r:a.out:hot_boosted")
  printf '%-10s %-22s %10d\n' boosted "return ($mech)" $((r_ns - base))
  printf '%-10s %-22s %10d\n' boosted "entry+return ($mech)" $((pr_ns - base))
done
if [ "${BPFTRACE:-1}" = 1 ] && command -v bpftrace >/dev/null 2>&1 &&
   bpftrace -e "uretprobe:$hot:hot_boosted { @ = count(); }" -c "$hot boosted 10" >/dev/null 2>&1; then
  b=$(slope bpftrace -e "uretprobe:$hot:hot_boosted { @ = count(); }" -c "$hot boosted @N")
  printf '%-10s %-22s %10d\n' boosted "bpftrace uretprobe" $((b - base))
  b=$(slope bpftrace -e "uprobe:$hot:hot_boosted { @a = count(); } uretprobe:$hot:hot_boosted { @b = count(); }" -c "$hot boosted @N")
  printf '%-10s %-22s %10d\n' boosted "bpftrace uprobe+uretprobe" $((b - base))
fi
command -v bpftrace >/dev/null 2>&1 || echo "(bpftrace not installed: not measured)"

# A hit that writes a record with two integer arguments (bench/paced.c:
# the calls alone are timed inside the program, PACED_GAP_NS apart so that
# each tool's consumer keeps up and every hit really writes its record).
paced="$build/bench/paced"
pn=${PACED_CALLS:-50000}
gap=${PACED_GAP_NS:-20000}
# pmean CMD... — the median over RUNS of the program's own ns/call.
pmean() {
  local v=()
  for _ in $(seq "$runs"); do
    v+=("$("$@" 2>/dev/null | sed -n 's/^\([0-9.]*\) ns\/call.*/\1/p' | head -1)")
  done
  printf '%s\n' "${v[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
pbase=$(pmean "$paced" "$pn" "$gap")
prow() { awk -v t="$2" -v b="$pbase" -v n="$1" 'BEGIN { if (t == "") print n, "(failed)"; else printf "%-10s %-22s %10.1f\n", "paced_hit", n, t - b }'; }
printf '\nrecorded hit, a=%%di b=%%si (ns/hit, timed in the program, %d calls %d ns apart)\n' "$pn" "$gap"
prow "probekit jump" "$(pmean "$pk" trace --backend jump -o /dev/null -c "$paced $pn $gap" 'p:a.out:paced_hit a=%di:s64 b=%si:s64')"
prow "probekit trap" "$(pmean "$pk" trace --backend trap -o /dev/null -c "$paced $pn $gap" 'p:a.out:paced_hit a=%di:s64 b=%si:s64')"
# A recorded return (r=$retval): the agent hijacks the return address at the
# entry's jmp and records at its return trampoline; trap: ret-site int3s.
prow "probekit jump return" "$(pmean "$pk" trace --backend jump -o /dev/null -c "$paced $pn $gap" 'r:a.out:paced_hit r=$retval:s64')"
prow "probekit trap return" "$(pmean "$pk" trace --backend trap -o /dev/null -c "$paced $pn $gap" 'r:a.out:paced_hit r=$retval:s64')"
# An overridden call (--fail, every call, issue 8): the agent overrides it
# at the entry's jmp and records the event line; trap: a stop per call.
prow "probekit jump --fail" "$(pmean "$pk" trace -w --backend jump -o /dev/null --fail paced_hit=7 -c "$paced $pn $gap")"
prow "probekit trap --fail" "$(pmean "$pk" trace -w --backend trap -o /dev/null --fail paced_hit=7 -c "$paced $pn $gap")"
# uftrace only where its dynamic patching really patched the function.
if command -v uftrace >/dev/null 2>&1 && [ "${UFTRACE:-1}" = 1 ] &&
   uftrace record -d /tmp/pk-bench-uftrace -P paced_hit -A 'paced_hit@arg1,arg2' "$paced" 10 0 >/dev/null 2>&1 &&
   uftrace report -d /tmp/pk-bench-uftrace 2>/dev/null | grep -q paced_hit; then
  prow "uftrace -A (entry+exit)" "$(pmean uftrace record -d /tmp/pk-bench-uftrace -P paced_hit -A 'paced_hit@arg1,arg2' "$paced" "$pn" "$gap")"
fi
if [ "${BPFTRACE:-1}" = 1 ] && command -v bpftrace >/dev/null 2>&1; then
  prow "bpftrace printf" "$(pmean bpftrace -e "uprobe:$paced:paced_hit { printf(\"%d %d\\n\", arg0, arg1); }" -c "$paced $pn $gap")"
fi

# D clauses where the probe fires (issue 8): the same timing, no gap (no
# consumer has to keep up: nothing is printed per hit). Rows: the counting
# jump site (no code), a predicate that rejects every hit, an aggregation
# keyed by an argument, a per-thread latency-style quantize between two
# entries and one between the entry and the return; each in
# the agent, with -x backend=trap, and with bpftrace where it works.
dgap=${D_GAP_NS:-0}
dbase=$(pmean "$paced" "$pn" "$dgap")
drow() { awk -v t="$2" -v b="$dbase" -v n="$1" 'BEGIN { if (t == "") print n, "(failed)"; else printf "%-10s %-40s %10.1f\n", "paced_hit", n, t - b }'; }
printf '\nD clause per hit (ns/hit, timed in the program, %d calls)\n' "$pn"
dprog() {
  case $1 in
    count) echo 'pid$target:a.out:paced_hit:entry { @[probefunc] = count(); }' ;;
    reject) echo 'pid$target:a.out:paced_hit:entry /arg0 == 12345678/ { @ = count(); }' ;;
    keyed) echo 'pid$target:a.out:paced_hit:entry { @[arg0 & 7] = count(); }' ;;
    delta) echo 'pid$target:a.out:paced_hit:entry /self->ts/ { @ = quantize(timestamp - self->ts); } pid$target:a.out:paced_hit:entry { self->ts = timestamp; }' ;;
    retlat) echo 'pid$target:a.out:paced_hit:entry { self->ts = timestamp; } pid$target:a.out:paced_hit:return /self->ts/ { @ = quantize(timestamp - self->ts); self->ts = 0; }' ;;
    global) echo 'pid$target:a.out:paced_hit:entry { n++; }' ;;
    array) echo 'pid$target:a.out:paced_hit:entry { a[arg0 & 7]++; }' ;;
    strkey) echo 'pid$target:a.out:paced_hit:entry { @[copyinstr(arg2)] = count(); }' ;;
    ufunc) echo 'pid$target:a.out:paced_hit:entry { @[ufunc(uregs[R_PC])] = count(); }' ;;
    strglobal) echo 'pid$target:a.out:paced_hit:entry { last = copyinstr(arg2); }' ;;
    strarray) echo 'pid$target:a.out:paced_hit:entry { a[copyinstr(arg2)]++; }' ;;
    ustack) echo 'pid$target:a.out:paced_hit:entry { @[ustack()] = count(); }' ;;
  esac
}
bprog() {
  case $1 in
    count) echo "uprobe:$paced:paced_hit { @[func] = count(); }" ;;
    reject) echo "uprobe:$paced:paced_hit /arg0 == 12345678/ { @ = count(); }" ;;
    keyed) echo "uprobe:$paced:paced_hit { @[arg0 & 7] = count(); }" ;;
    delta) echo "uprobe:$paced:paced_hit /@ts[tid]/ { @ = hist(nsecs - @ts[tid]); } uprobe:$paced:paced_hit { @ts[tid] = nsecs; }" ;;
    retlat) echo "uprobe:$paced:paced_hit { @ts[tid] = nsecs; } uretprobe:$paced:paced_hit /@ts[tid]/ { @ = hist(nsecs - @ts[tid]); delete(@ts[tid]); }" ;;
    global) echo "uprobe:$paced:paced_hit { @n++; }" ;;
    array) echo "uprobe:$paced:paced_hit { @a[arg0 & 7]++; }" ;;
    strkey) echo "uprobe:$paced:paced_hit { @[str(arg2)] = count(); }" ;;
    ufunc) echo "uprobe:$paced:paced_hit { @[usym(reg(\"ip\"))] = count(); }" ;;
    strglobal) echo "uprobe:$paced:paced_hit { @last = str(arg2); }" ;;
    strarray) echo "uprobe:$paced:paced_hit { @a[str(arg2)]++; }" ;;
    ustack) echo "uprobe:$paced:paced_hit { @[ustack] = count(); }" ;;
  esac
}
# retlat: the issue's entry + return latency histogram, per call (both
# halves in the agent: the entry's jump site and the return side of its
# shadow-stack hijack).
# global, array: a global counter (an atomic add on a word shared by the
# process's threads) and an associative array (the lock-free table).
# strkey: an aggregation keyed by a string the agent reads (copyinstr, its
# bytes the key).
# ufunc: a key the agent keeps as an address, symbolized when printed.
# strglobal, strarray: a string global stored from copyinstr (a copy into
# the process's shared room) and an array keyed by one (its bytes the key
# in the lock-free table).
# ustack: a key of the thread's stack (the agent's walk, the stack interned
# in the thread's table, symbolized when printed).
for d in count reject keyed delta retlat global array strkey ufunc strglobal strarray ustack; do
  drow "$d: probekit agent" "$(pmean "$pk" -q -n "$(dprog $d)" -c "$paced $pn $dgap")"
  drow "$d: probekit -x backend=trap" "$(pmean "$pk" -q -x backend=trap -n "$(dprog $d)" -c "$paced $pn $dgap")"
  if [ "${BPFTRACE:-1}" = 1 ] && command -v bpftrace >/dev/null 2>&1; then
    drow "$d: bpftrace" "$(pmean bpftrace -e "$(bprog $d)" -c "$paced $pn $dgap")"
  fi
done
