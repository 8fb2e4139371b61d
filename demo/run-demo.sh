#!/usr/bin/env bash
# `make demo`: probekit on the bundled demo program, live.
set -euo pipefail
build=${1:-build}
pk="$build/probekit"
demo="$build/demo/probekit-demo"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say probekit trace -c "'$demo 3'" "'p:a.out:process_request id=\$arg:id name=\$arg:name'" \
  "'r:a.out:process_request reply=+0(\$retval):string'"
"$pk" trace -c "$demo 3" 'p:a.out:process_request id=$arg:id name=$arg:name' \
  'r:a.out:process_request reply=+0($retval):string'

say probekit trace -C -c "'$demo 20'" "'p:a.out:hash_name' 'p:a.out:slow_lookup' 'p:libc.so.6:malloc size=%di:u64'"
"$pk" trace -C -c "$demo 20" 'p:a.out:hash_name' 'p:a.out:slow_lookup' 'p:libc.so.6:malloc size=%di:u64'

prog='pid$target:a.out:slow_lookup:entry { self->ts = timestamp; }
pid$target:a.out:slow_lookup:return /self->ts/ {
  @lat["slow_lookup (ns)"] = quantize(timestamp - self->ts); self->ts = 0; }
pid$target:a.out:process_request:entry { @req[copyinstr(arg1)] = count(); }'
say probekit -q -n "'$prog'" -c "'$demo 20'"
"$pk" -q -n "$prog" -c "$demo 20"
