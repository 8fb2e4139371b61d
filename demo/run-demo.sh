#!/usr/bin/env bash
# `make demo`: probekit on the bundled demo program, live.
set -euo pipefail
build=${1:-build}
pk="$build/probekit"
demo="$build/demo/probekit-demo"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say probekit trace -c "$demo 6" "'p:a.out:process_request id=%di:s32 name=+0(%si):string'"
"$pk" trace -c "$demo 6" 'p:a.out:process_request id=%di:s32 name=+0(%si):string'

say probekit trace -C -c "$demo 20" "'p:a.out:hash_name' 'p:a.out:slow_lookup' 'p:libc.so.6:malloc size=%di:u64'"
"$pk" trace -C -c "$demo 20" 'p:a.out:hash_name' 'p:a.out:slow_lookup' 'p:libc.so.6:malloc size=%di:u64'
