#!/usr/bin/env python3
"""Run dtrace-utils' own test suite (test/unittest) through probekit.

Each test is run as dtrace-utils' runtest.sh runs it through dtrace(1), and
judged as runtest.sh judges it; the suite is read from the directory given
and nothing of it is copied.  The rules followed (runtest.sh, devel branch):

* Options come from `@@NAME: value` comments in the test, else from the
  nearest test.options (test.x86_64.options) above it: @@runtest-opts,
  @@trigger, @@trigger-timing, @@timeout, @@skip, @@xfail, @@no-xfail,
  @@nosort, @@timeout-success.
* tst.*, err.* and drp.* run (trigger "none"); any other .d without a
  trigger is only compiled (-e).  err.* must exit 1; err.D_TAG.* is run with
  -xerrtags and must print [D_TAG] on stderr; drp.D_TAG.* with -xdroptags.
  A @@trigger program from test/triggers runs under -c (timing "synchro"),
  or beside probekit (before/after/N seconds, its pid replacing $_pid).
* Output is stdout, then "-- @@stderr --" and stderr when stderr is not
  empty, passed through the test's .r.p postprocessor when there is one,
  with every 0x... replaced by {ptr}; it is compared with .x86_64.r or .r,
  both sorted by line unless @@nosort.  Without a .r only the exit code is
  judged.
* A failure is reported in runtest.sh's order: missing tag, timeout, exit
  code, then differing output.

Not applicable (counted apart, with the reason): .c tests (linked against
libdtrace), .sh tests (they drive dtrace-utils' tools), @@skip, a .x
program answering "skip", tests dtrace-utils itself expects to fail
(@@xfail, .x answering 1), descriptions of kernel-only providers, kernel symbols (`max_pfn), and
triggers that are not built (give --triggers DIR with them built).

The share reported is pass / (pass + fail), and pass / all.  --tags-only
judges err.D_* tests by their tag alone, whatever the exit status and the
messages' wording (probekit words its messages its own way).
"""

import argparse
import collections
import concurrent.futures
import difflib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading

ARCH = "x86_64"

# Providers of the kernel that a user-space tracer has no equivalent of (or
# whose probes dtrace-utils defines with kernel translators).
KERNEL_PROVIDERS = {
    "fbt", "rawfbt", "sched", "io", "proc", "sdt", "lockstat", "ip", "tcp",
    "udp", "cpc", "mib", "perf", "rawtp", "lockstat", "dtrace_sdt", "vminfo",
    "sysinfo", "fsinfo", "nfsv3", "nfsv4", "iscsi", "srp", "fc",
}

# A probe description at the start of a line or after a comma:
# PROVIDER[pid|$macro]:MOD:FUNC:
DESC_RE = re.compile(r"(?:^|,)\s*([A-Za-z_]+)[0-9A-Za-z_$*]*:[^:,\n]*:[^:,\n]*:", re.M)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


# `name with no module before the backquote: a kernel symbol (D scopes a
# name to a module as mod`name; alone it is the kernel's).
KERNEL_SYMBOL_RE = re.compile(r"(?<![A-Za-z0-9_.])`([A-Za-z_][A-Za-z0-9_]*)")


def kernel_provider(source):
    """The first kernel-only provider a probe description names, or a
    kernel symbol the program reads, or None."""
    text = strip_comments(source)
    for m in DESC_RE.finditer(text):
        if m.group(1) in KERNEL_PROVIDERS:
            return m.group(1)
    m = KERNEL_SYMBOL_RE.search(re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text))
    if m:
        return "`" + m.group(1)
    return None


class Suite:
    """Where the tests are and how runtest.sh finds their options."""

    def __init__(self, test_dir):
        self.test_dir = os.path.abspath(test_dir)
        # runtest.sh runs from the dtrace-utils root, naming tests
        # test/unittest/...: messages in the .r files carry that path.
        parent = os.path.dirname(self.test_dir)
        if os.path.basename(parent) == "test":
            self.root = os.path.dirname(parent)
        else:
            self.root = self.test_dir
        self.top = os.path.dirname(self.test_dir) if self.root != self.test_dir else self.test_dir
        self._cache = {}

    def rel(self, path):
        return os.path.relpath(path, self.root)

    def read(self, path):
        if path not in self._cache:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    self._cache[path] = f.read()
            except OSError:
                self._cache[path] = None
        return self._cache[path]

    def option_files(self, test):
        """The test, then each directory's test.options up to the top."""
        yield test
        path = os.path.dirname(test)
        while True:
            arch = os.path.join(path, "test.%s.options" % ARCH)
            yield arch if os.path.exists(arch) else os.path.join(path, "test.options")
            if path == self.top or len(path) <= len(self.top):
                return
            path = os.path.dirname(path)

    def option(self, name, test):
        """extract_options NAME: the first file's values, or None."""
        pat = re.compile(r"@@" + re.escape(name) + r"( *:| |$)")
        for f in self.option_files(test):
            text = self.read(f)
            if text is None:
                continue
            vals = []
            for line in text.splitlines():
                if pat.search(line):
                    v = re.sub(r".*@@" + re.escape(name) + r" *: ", "", line)
                    v = re.sub(r"\*/$", "", v)
                    vals.append(v.rstrip(" "))
            if vals:
                return "".join(vals)
        return None

    def has_option(self, name, test):
        """exist_options NAME (a plain substring match, as grep -E does)."""
        for f in self.option_files(test):
            text = self.read(f)
            if text is not None and ("@@" + name) in text:
                return True
        return False


class Result:
    def __init__(self, test, status, reason="", detail=""):
        self.test, self.status, self.reason, self.detail = test, status, reason, detail


def run_with_timeout(argv, timeout, cwd, env, stdin=subprocess.DEVNULL):
    """(exit code, stdout, stderr); 124 on timeout.  The process group is
    killed (SIGTERM, then SIGKILL after 5 s) so nothing is left behind."""
    try:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    except OSError as e:
        return 127, b"", str(e).encode()
    try:
        out, err = p.communicate(timeout=timeout)
        code = p.returncode
    except subprocess.TimeoutExpired:
        kill_group(p.pid, signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            kill_group(p.pid, signal.SIGKILL)
            out, err = p.communicate()
        code = 124
    # Whatever the process left in its group (a -c target) goes too.
    kill_group(p.pid, signal.SIGKILL)
    if code < 0:
        code = 128 - code
    return code, out, err


def kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


HEADER = "CPU     ID                    FUNCTION:NAME"
ID_COLUMNS = re.compile(r"^[ 0-9]{2}[0-9] [ 0-9]{5}[0-9] ", re.M)


def testing_mode(out):
    """dtrace(1) under _DTRACE_TESTING prints its default output without the
    CPU and probe ID columns, which differ from machine to machine: take
    them out of probekit's (only where its default-output header is)."""
    if HEADER not in out:
        return out
    out = out.replace(HEADER, HEADER[len("CPU     ID "):])
    return ID_COLUMNS.sub("", out)


def postprocess_hex(text):
    lines = []
    for line in text.split("\n"):
        if not re.match(r"==[0-9]+== ", line):
            line = re.sub(r"0x[0-9a-f]+", "{ptr}", line)
        lines.append(re.sub(r"at BPF pc [1-9][0-9]*", "at BPF pc NNN", line))
    return "\n".join(lines)


def output_lines(text, sort):
    # sort(1) ends every line with a newline; cat and diff keep the text as is.
    if not sort:
        return text.split("\n")
    return sorted(text[:-1].split("\n") if text.endswith("\n") else text.split("\n")) if text else []


def first_difference(expected, got, sort):
    e, g = output_lines(expected, sort), output_lines(got, sort)
    for op in difflib.SequenceMatcher(None, e, g, autojunk=False).get_opcodes():
        if op[0] == "equal":
            continue
        if op[0] == "insert":
            return "extra line %r" % g[op[3]][:100]
        if op[0] == "delete":
            return "missing line %r" % e[op[1]][:100]
        return "expected %r, got %r" % (e[op[1]][:100], g[op[3]][:100])
    return "trailing newline"


def same_output(expected, got, sort):
    return output_lines(expected, sort) == output_lines(got, sort)


class Runner:
    def __init__(self, suite, args):
        self.suite, self.args = suite, args
        self.probekit = os.path.abspath(args.probekit)
        self.triggers = os.path.abspath(args.triggers) if args.triggers else os.path.join(
            suite.root, "test", "triggers")
        self.env = dict(os.environ, _DTRACE_TESTING="t", LANGUAGE="C")
        self.trigger_build = os.path.abspath(args.trigger_build)
        self.trigger_cache = {}
        self.trigger_lock = threading.Lock()

    # Per-trigger flags from test/triggers/Build (the few that have any).
    # The ustack triggers are built without optimization there ("ustack
    # wants no optimization"): at -O2 their 60 nested calls are inlined into
    # main and the stacks the tests expect do not exist.
    TRIGGER_FLAGS = {
        "readwholedir": ["-fno-inline", "-fno-optimize-sibling-calls", "-Wl,--export-dynamic"],
        "proc-tst-omp": ["-fopenmp"],
        "visible-constructor": ["-s"],
        "ustack-tst-basic": ["-O0", "-fno-inline", "-fno-omit-frame-pointer"],
        "ustack-tst-bigstack-spin": ["-O0", "-fno-inline", "-fno-omit-frame-pointer"],
        "ustack-tst-spin": ["-O0"],
        "ustack-tst-mtspin": ["-O0"],
    }

    def trigger(self, name):
        """(path, "") of a trigger program, building a single-file C trigger
        with gcc into --trigger-build the first time; (None, reason) when
        there is none."""
        with self.trigger_lock:
            if name in self.trigger_cache:
                return self.trigger_cache[name]
            src = os.path.join(self.triggers, name + ".c")
            exe = os.path.join(self.triggers, name)
            if os.path.exists(os.path.join(self.triggers, name + "-prov.d")):
                found = (None, "trigger '%s' needs dtrace -G for its USDT probes" % name)
            elif os.path.isfile(src):
                out = os.path.join(self.trigger_build, name)
                os.makedirs(self.trigger_build, exist_ok=True)
                argv = (["gcc", "-std=gnu99", "-D_GNU_SOURCE", "-O2", "-g", "-pthread"]
                        + self.TRIGGER_FLAGS.get(name, []) + ["-o", out, src, "-lrt"])
                try:
                    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, timeout=120)
                    ok = r.returncode == 0
                except (OSError, subprocess.TimeoutExpired):
                    ok = False
                found = (out, "") if ok else (None, "trigger '%s' does not build with gcc alone" % name)
            elif os.path.isfile(exe) and os.access(exe, os.X_OK):
                found = (exe, "")
            else:
                found = (None, "trigger '%s' from test/triggers is not available (--triggers DIR)" % name)
            self.trigger_cache[name] = found
            return found

    def xfail_state(self, test, base):
        """runtest.sh's .x scan: (0 pass | 1 xfail | 2 skip, message)."""
        state, msg = 0, ""
        path, xbase = test, base
        while state < 2:
            xfile = xbase + "." + ARCH + ".x"
            if not os.path.exists(xfile):
                xfile = xbase + ".x"
            if os.path.isfile(xfile) and os.access(xfile, os.X_OK):
                code, out, _ = run_with_timeout([xfile], 30, self.suite.root, self.env)
                code = min(code, 2)
                if code > state:
                    state, msg = code, out.decode(errors="replace").strip()
            elif os.path.exists(xfile) and state == 0:
                state = 1
            path = os.path.dirname(path)
            xbase = os.path.join(path, "test")
            if os.path.exists(os.path.join(path, "test.%s.x" % ARCH)):
                xbase = os.path.join(path, "test." + ARCH)
            if len(path) <= len(self.suite.top):
                break
        return state, msg

    def run(self, test):
        s = self.suite
        rel = s.rel(test)
        name = os.path.basename(test)
        base, ext = os.path.splitext(test)
        na = lambda why: Result(rel, "n/a", why)

        if ext == ".c":
            return na("C program linked against libdtrace")
        if ext == ".sh" or (os.path.isfile(base + ".sh") and os.access(base + ".sh", os.X_OK)):
            return na("shell test driving dtrace-utils' tools")
        if s.has_option("skip", test):
            return na("@@skip")
        source = s.read(test) or ""

        xfail, xmsg = 0, ""
        if s.has_option("xfail", test) and not s.has_option("no-xfail", test):
            xfail, xmsg = 1, (s.option("xfail", test) or "").strip()
        xstate, xm = self.xfail_state(test, base)
        if xstate > xfail:
            xfail, xmsg = xstate, xm
        if xfail == 2:
            return na("skipped by its .x program" + (": " + xmsg if xmsg else ""))
        if xfail == 1:
            return na("expected to fail in dtrace-utils" + (": " + xmsg if xmsg else ""))

        prov = kernel_provider(source)
        if prov:
            return na(("kernel symbol '%s'" if prov.startswith("`") else "kernel-only provider '%s'") % prov)

        trigger = "none" if re.match(r"(tst|err|drp)\.", name) else None
        t = s.option("trigger", test)
        if t is not None:
            trigger = t.strip()
        trigger_argv = None
        if trigger and trigger != "none":
            words = shlex.split(trigger)
            exe, why = self.trigger(words[0])
            if not exe:
                return na(why)
            trigger_argv = [exe] + words[1:]
        if os.path.isfile(base + ".t") and os.access(base + ".t", os.X_OK):
            trigger_argv = [base + ".t"]
            trigger = base + ".t"

        timeout = self.args.timeout
        t = s.option("timeout", test)
        if t and t.strip().isdigit() and int(t) > timeout:
            timeout = int(t)

        expected_exit = 1 if name.startswith("err.") else 0
        raw = []
        expected_tag = None
        m = re.match(r"err\.(D_[^.]*)\.", name)
        if m:
            raw.append("-xerrtags")
            expected_tag = m.group(1)
        m = re.match(r"drp\.([^.]*)\.", name)
        if m:
            raw.append("-xdroptags")
            expected_tag = m.group(1)
        opts = s.option("runtest-opts", test)

        flags = raw + ["-s", rel]
        interp = None
        first = source.split("\n", 1)[0].split()
        if first and first[0] == "#!dtrace":
            # An interpreter file: the kernel would run `dtrace ARGS FILE`.
            interp = first[1:]

        trigger_proc = None
        try:
            pid_text = "$_pid"
            timing = (s.option("trigger-timing", test) or "synchro").strip()
            if trigger_argv and timing != "synchro":
                delay = {"after": 1, "before": 0}.get(timing)
                if delay is None:
                    delay = int(timing) if timing.isdigit() else 0
                # "before": the trigger is running when probekit starts, as
                # runtest.sh's `( exec $trigger ) &` has it (Popen returns
                # once it has exec'd); through sh and `sleep 0` probekit could
                # attach to the shell before its exec and find no a.out probes.
                trigger_proc = subprocess.Popen(
                    (["sh", "-c", 'sleep %d; exec "$@"' % delay, "trigger"] if delay else []) + trigger_argv,
                    cwd=s.root, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, start_new_session=True)
                pid_text = str(trigger_proc.pid)
            extra = []
            if opts:
                opts = re.sub(r"\$_pid\b", pid_text, opts)
                try:
                    extra = shlex.split(os.path.expandvars(opts))
                except ValueError:
                    extra = opts.split()
            if "C" in "".join(a[1:] for a in extra if re.match(r"-[A-Za-z]", a) and not a.startswith("-x")):
                # runtest.sh always passes its -D/-I flags; probekit takes
                # them only with -C, and the include paths are dtrace's tree.
                extra.append("-DARCH_" + ARCH)
            if interp is not None:
                argv = [self.probekit] + interp + [rel] + raw + extra
            else:
                argv = [self.probekit] + flags + extra
                if trigger is None:
                    argv.append("-e")
            if trigger_argv and timing == "synchro":
                argv += ["-c", " ".join(shlex.quote(a) for a in trigger_argv)]
            code, out, err = run_with_timeout(argv, timeout, s.root, self.env)
        finally:
            if trigger_proc:
                kill_group(trigger_proc.pid, signal.SIGKILL)
                trigger_proc.wait()

        out = out.decode(errors="replace")
        err = err.decode(errors="replace")
        err = "\n".join(l for l in err.split("\n") if not re.match(r"[a-z_]+ DEBUG [0-9]+: ", l))
        out = testing_mode(out)
        # dtrace(1) names itself in its messages; so does probekit.
        err = re.sub(r"^probekit: ", "dtrace: ", err, flags=re.M)
        combined = out + ("-- @@stderr --\n" + err if err else "")

        pp = base + ".r.p"
        pp_failed = False
        if os.path.isfile(pp) and os.access(pp, os.X_OK):
            try:
                r = subprocess.run([pp], input=combined.encode(), stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, cwd=s.root, env=self.env, timeout=30)
                if r.returncode == 0:
                    combined = r.stdout.decode(errors="replace")
                else:
                    pp_failed = True
            except (OSError, subprocess.TimeoutExpired):
                pp_failed = True
        final = postprocess_hex(combined)

        rfile = base + "." + ARCH + ".r"
        if not os.path.exists(rfile):
            rfile = base + ".r"
        sort = not s.has_option("nosort", test)
        differs = None
        if os.path.exists(rfile):
            expected = s.read(rfile) or ""
            if not same_output(expected, final, sort):
                differs = first_difference(expected, final, sort)

        our_tags = re.findall(r"\[(D_[A-Z0-9_]+)\]", err)
        first_error = next((l.strip() for l in err.split("\n") if "error:" in l),
                           next((l.strip() for l in err.split("\n") if l.strip()), ""))
        if expected_tag and ("[%s]" % expected_tag) not in err:
            got = ", ".join(dict.fromkeys(our_tags)) or "none"
            return Result(rel, "fail", "wrong tag: expected [%s], got %s" % (expected_tag, got),
                          first_error)
        if expected_tag and name.startswith("err.") and self.args.tags_only and code not in (0, 124):
            # Rejected with the right tag: what --tags-only asks.
            return Result(rel, "pass")
        if code == 124 and not s.has_option("timeout-success", test):
            return Result(rel, "fail", "timed out after %ds" % timeout, first_error)
        if code == 67:
            return na("requested by test (exit 67)")
        if code != expected_exit and code != 124:
            return Result(rel, "fail", "exit code %d, expected %d" % (code, expected_exit), first_error)
        if pp_failed:
            return Result(rel, "fail", "results postprocessor failed", first_error)
        if differs:
            return Result(rel, "fail", "output differs: " + differs, first_error)
        return Result(rel, "pass")


def find_tests(suite, pattern):
    tests = []
    for dirpath, dirnames, filenames in os.walk(suite.test_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in filenames:
            if f.startswith(".") or f.endswith("~"):
                continue
            if os.path.splitext(f)[1] in (".d", ".sh", ".c"):
                tests.append(os.path.join(dirpath, f))
    tests.sort()
    if pattern:
        rx = re.compile(pattern)
        tests = [t for t in tests if rx.search(suite.rel(t))]
    return tests


def cause(r):
    """A failure's cause, for grouping: our first error with its names,
    numbers and place taken out, else the kind of failure."""
    kind = r.reason.split(":")[0]
    if r.reason == "exit code 2, expected 1":
        # The program was rejected (with the right tag, for err.D_*), but
        # with the exit status of a command line that does not parse.
        return "rejected with exit status 2, dtrace exits 1" + (
            " (tag right)" if re.search(r"/err\.D_", r.test) else "")
    if kind.startswith("exit code"):
        kind = r.reason
    elif kind == "wrong tag":
        kind = re.sub(r", got.*", "", r.reason)
    msg = r.detail
    if msg and "error:" in msg:
        msg = re.sub(r"^.*?error: ", "", msg)
        msg = re.sub(r"'([^']*)'", lambda m: m.group(0) if re.fullmatch(r"[^A-Za-z0-9_]{1,3}", m.group(1))
                     else "'…'", msg)
        msg = re.sub(r"\b[0-9]+\b", "N", msg)
        if kind.startswith("wrong tag"):
            kind = "wrong tag"
        return "%s: %s" % (kind, msg)
    return kind


def share(a, b):
    return "%5.1f%%" % (100.0 * a / b) if b else "    -"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("test_dir", metavar="DTRACE_UTILS_TEST_DIR",
                    help="dtrace-utils' test/unittest directory")
    ap.add_argument("--probekit", default="build/probekit")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--filter", help="only tests whose path matches this regular expression")
    ap.add_argument("--timeout", type=int, default=10,
                    help="seconds per test (a larger @@timeout wins; runtest.sh's default is 41)")
    ap.add_argument("--triggers", help="dtrace-utils' test/triggers (default: beside the test "
                    "directory); its single-file C triggers are built with gcc")
    ap.add_argument("--trigger-build", default="/tmp/probekit-dtrace-triggers-%d" % os.getuid(),
                    help="where the triggers are built")
    ap.add_argument("--tags-only", action="store_true",
                    help="an err.D_* test passes when the program is rejected with its tag, "
                         "whatever the exit status and message text (the messages are worded "
                         "differently)")
    ap.add_argument("--list-failures", action="store_true", help="one line per failing test")
    ap.add_argument("--causes", action="store_true",
                    help="the failures grouped by cause, most frequent first")
    ap.add_argument("--list-na", action="store_true", help="one line per test not applicable")
    args = ap.parse_args()

    if not os.path.isdir(args.test_dir):
        sys.exit("probekit: dtrace-conformance: error: '%s' is not a directory: give dtrace-utils' "
                 "test/unittest" % args.test_dir)
    if not (os.path.isfile(args.probekit) and os.access(args.probekit, os.X_OK)):
        sys.exit("probekit: dtrace-conformance: error: '%s' is not an executable: build probekit "
                 "or give --probekit PATH" % args.probekit)
    if args.jobs < 1 or args.timeout < 1:
        sys.exit("probekit: dtrace-conformance: error: --jobs and --timeout must be at least 1")
    try:
        if args.filter:
            re.compile(args.filter)
    except re.error as e:
        sys.exit("probekit: dtrace-conformance: error: --filter: %s" % e)

    suite = Suite(args.test_dir)
    runner = Runner(suite, args)
    tests = find_tests(suite, args.filter)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(runner.run, tests))

    per_dir = collections.OrderedDict()
    totals = collections.Counter()
    for r in results:
        parts = os.path.relpath(os.path.join(suite.root, r.test), suite.test_dir).split(os.sep)
        d = parts[0] if len(parts) > 1 else "."
        per_dir.setdefault(d, collections.Counter())[r.status] += 1
        totals[r.status] += 1

    if args.list_failures:
        for r in results:
            if r.status == "fail":
                print("FAIL %s: %s%s" % (r.test, r.reason, (" | " + r.detail) if r.detail else ""))
        print()
    if args.list_na:
        for r in results:
            if r.status == "n/a":
                print("N/A  %s: %s" % (r.test, r.reason))
        print()
    if args.causes:
        causes = collections.Counter()
        example = {}
        for r in results:
            if r.status == "fail":
                key = cause(r)
                causes[key] += 1
                example.setdefault(key, r.test)
        for key, n in causes.most_common():
            print("%5d  %s  (e.g. %s)" % (n, key, example[key]))
        print()
    print("%-16s %6s %6s %6s %6s %14s" % ("directory", "tests", "pass", "fail", "n/a", "pass/(p+f)"))
    for d in sorted(per_dir):
        c = per_dir[d]
        n = sum(c.values())
        print("%-16s %6d %6d %6d %6d %14s" % (d, n, c["pass"], c["fail"], c["n/a"],
                                              share(c["pass"], c["pass"] + c["fail"])))
    n = sum(totals.values())
    print("%-16s %6d %6d %6d %6d %14s" % ("total", n, totals["pass"], totals["fail"], totals["n/a"],
                                          share(totals["pass"], totals["pass"] + totals["fail"])))
    print("pass / (pass + fail): %d / %d = %s; pass / all: %d / %d = %s" % (
        totals["pass"], totals["pass"] + totals["fail"],
        share(totals["pass"], totals["pass"] + totals["fail"]).strip(),
        totals["pass"], n, share(totals["pass"], n).strip()))
    na = collections.Counter(re.sub(r"'[^']*'|:.*", "", r.reason).strip() for r in results
                             if r.status == "n/a")
    print("not applicable: " + ", ".join("%s %d" % (k, v) for k, v in na.most_common()))


if __name__ == "__main__":
    main()
