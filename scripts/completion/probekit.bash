# bash completion for probekit(1): options of both front ends, process ids
# after -p, and probe descriptions of a running process after -n / -l -n:
# `pid1234:` completes its modules, `pid1234:a.out:` their functions and
# `pid1234:a.out:work:` entry/return, read from `probekit -l -p 1234`
# (which attaches to the process for a moment, as ptrace allows).
# `pid$target:` does the same for the process given with -p.
# Self-contained: it needs neither bash-completion's helpers nor a login shell.

_probekit_d_opts="-p -c -n -s -q -w -Z -F -v -l -f -o -d -x -e -b -V -L -C -D -U -I -h --help --version trace"
_probekit_trace_opts="-p --pid -c --command -C --count -d --duration -f --format -o --output -v --verbose
  -w --destructive -Z --exit-code --return-mechanism --backend --hands-off --fail -h --help --version"
_probekit_x_opts="aggfmt=folded aggfmt=text metrics=127.0.0.1: progress= backend=auto backend=jump backend=trap
  retprobe=auto retprobe=ret-site retprobe=hijack exitcode handsoff quiet destructive flowindent
  bufsize= aggsize= dynvarsize= strsize= ustackframes= nspec= specsize= switchrate= aggrate= version="

# Candidates for a description `cur` of process `pid`, spelled with `prefix`
# ("pid1234" or "pid$target").
_probekit_describe() {
  local cur=$1 pid=$2 prefix=$3 rest fields mod fn
  rest=${cur#"$prefix"}
  rest=${rest#:}
  IFS=: read -r mod fn _ <<<"$rest"
  local colons=${rest//[^:]/}
  local probekit=${PROBEKIT:-probekit}
  case ${#colons} in
  0) # the module
    "$probekit" -l -p "$pid" -n "pid$pid:::entry" 2>/dev/null |
      awk -v p="$prefix" 'NR > 1 { print p ":" $3 ":" }' | sort -u ;;
  1) # a function of the module
    "$probekit" -l -p "$pid" -n "pid$pid:$mod::entry" 2>/dev/null |
      awk -v p="$prefix" -v m="$mod" 'NR > 1 { print p ":" m ":" $4 ":" }' | sort -u ;;
  *) printf '%s\n' "$prefix:$mod:$fn:entry" "$prefix:$mod:$fn:return" ;;
  esac
}

# The lines of stdin that start with $1 (compgen -W would expand the `$` of pid$target).
_probekit_filter() {
  local c
  while IFS= read -r c; do
    [[ $c == "$1"* ]] && printf '%s\n' "$c"
  done
}

_probekit() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  # bash splits words at ':' (COMP_WORDBREAKS): put a description back together.
  local i=$COMP_CWORD
  while ((i > 0)) && [[ ${COMP_WORDS[i]} == ":" || ${COMP_WORDS[i - 1]} == ":" || ${cur:0:1} == ":" ]]; do
    if [[ ${COMP_WORDS[i]} == ":" || ${COMP_WORDS[i - 1]} == ":" ]]; then
      ((i--))
      cur=${COMP_WORDS[i]}$cur
    else
      break
    fi
  done
  ((i > 0)) && prev=${COMP_WORDS[i - 1]}
  local trace=0 w pid=""
  for ((w = 1; w < i; w++)); do
    [[ ${COMP_WORDS[w]} == trace && $w == 1 ]] && trace=1
    [[ ${COMP_WORDS[w]} == -p || ${COMP_WORDS[w]} == --pid ]] && pid=${COMP_WORDS[w + 1]}
  done
  local -a reply=()
  case $prev in
  -p | --pid)
    reply=($(compgen -W "$(ls /proc | grep -E '^[0-9]+$')" -- "$cur")) ;;
  -s | -o | --output)
    reply=($(compgen -f -- "$cur")) ;;
  -L | -I)
    reply=($(compgen -d -- "$cur")) ;;
  -c | --command)
    reply=($(compgen -c -- "$cur")) ;;
  -f | --format)
    if ((trace)); then reply=($(compgen -W "text json chrome" -- "$cur"))
    else reply=($(compgen -W "text json folded chrome" -- "$cur")); fi ;;
  -x)
    reply=($(compgen -W "$_probekit_x_opts" -- "$cur")) ;;
  --backend | --return-mechanism)
    reply=($(compgen -W "auto jump trap ret-site hijack" -- "$cur")) ;;
  -n)
    if [[ $cur =~ ^pid([0-9]+)(:.*)?$ ]]; then
      mapfile -t reply < <(_probekit_describe "$cur" "${BASH_REMATCH[1]}" "pid${BASH_REMATCH[1]}" | _probekit_filter "$cur")
    elif [[ $cur == 'pid$target'* && -n $pid ]]; then
      mapfile -t reply < <(_probekit_describe "$cur" "$pid" 'pid$target' | _probekit_filter "$cur")
    else
      reply=($(compgen -W 'pid$target: syscall:: profile- tick- BEGIN END tracepoint: proc::: sched:::' -- "$cur"))
    fi ;;
  *)
    if ((trace)); then reply=($(compgen -W "$_probekit_trace_opts" -- "$cur"))
    else reply=($(compgen -W "$_probekit_d_opts" -- "$cur")); fi ;;
  esac
  # What bash replaces is only the text after the last ':' it split at.
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local strip=${cur%"${cur##*:}"}
    reply=("${reply[@]#"$strip"}")
  fi
  COMPREPLY=("${reply[@]}")
  [[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == *[:=] ]] && compopt -o nospace 2>/dev/null
  return 0
}

complete -F _probekit probekit
