"""scripts/dtrace-conformance.py judged on a small suite of its own.

The suite is written here, in dtrace-utils' layout (test/unittest/DIR/...),
and run through a stand-in for probekit that prints what each test's
`//>` (stdout) and `//!` (stderr) lines say and exits with `//exit N`, so
that every rule of the runner is checked without probekit or dtrace-utils.
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "dtrace-conformance.py")

spec = importlib.util.spec_from_file_location("dtrace_conformance", SCRIPT)
dc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dc)

FAKE_PROBEKIT = """#!/usr/bin/env python3
import sys
args = sys.argv[1:]
with open("args.log", "a") as log:
    log.write(" ".join(args) + "\\n")
text = open(args[args.index("-s") + 1]).read()
code = 0
for line in text.splitlines():
    if line.startswith("//> "):
        print(line[4:])
    elif line.startswith("//! "):
        print(line[4:], file=sys.stderr)
    elif line.startswith("//exit "):
        code = int(line[7:])
    elif line.startswith("//hang"):
        import time
        time.sleep(60)
sys.exit(code)
"""

SUITE = {
    # Output sorted before comparing: the order does not matter.
    "a/tst.sorted.d": ("//> b\n//> a\nBEGIN { exit(0); }\n", "a\nb\n"),
    # @@nosort: it does.
    "a/tst.nosort.d": ("/* @@nosort */\n//> b\n//> a\n", "a\nb\n"),
    # Hex values are {ptr}; stderr follows "-- @@stderr --"; dtrace's name.
    "a/tst.ptr.d": ("//> at 0xdeadbeef\n//! probekit: note\n",
                    "at {ptr}\n-- @@stderr --\ndtrace: note\n"),
    # The default output's CPU and ID columns are taken out.
    "a/tst.columns.d": ("//> CPU     ID                    FUNCTION:NAME\n"
                        "//>   1      7                           :BEGIN hi\n",
                        "                   FUNCTION:NAME\n                          :BEGIN hi\n"),
    "a/tst.wrong.d": ("//> 3\n", "4\n"),
    # An error test: its tag and exit status 1.
    "b/err.D_SYNTAX.good.d": ("//! x.d:1:1: error: oops [D_SYNTAX]\n//exit 1\n", None),
    "b/err.D_SYNTAX.badtag.d": ("//! x.d:1:1: error: oops [D_PROTO_ARG]\n//exit 1\n", None),
    "b/err.D_SYNTAX.status.d": ("//! x.d:1:1: error: oops [D_SYNTAX]\n//exit 2\n", None),
    "b/err.untagged.d": ("//exit 0\n", None),
    # Not applicable.
    "c/tst.skipped.d": ("/* @@skip: no */\n", None),
    "c/tst.kernel.d": ("fbt::vfs_read:entry\n{\n}\n", None),
    "c/tst.xfail.d": ("/* @@xfail: dtrace-utils cannot */\n", None),
    "c/tst.trigger.d": ("/* @@trigger: nosuchtrigger */\n", None),
    "c/tst.shell.sh": ("#!/bin/sh\n", None),
    # Options from test.options: -C (and the -D runtest.sh gives).
    "d/tst.opts.d": ("//exit 0\n", None),
    "d/test.options": ("@@runtest-opts: -C\n", None),
    # Not tst/err/drp and no trigger: compiled only (-e).
    "d/other.d": ("//exit 0\n", None),
    "e/tst.hang.d": ("/* @@nosort */\n//hang\n", ""),
}


class ConformanceRules(unittest.TestCase):
    def test_sorted_unless_nosort(self):
        self.assertTrue(dc.same_output("a\nb\n", "b\na\n", True))
        self.assertFalse(dc.same_output("a\nb\n", "b\na\n", False))
        self.assertTrue(dc.same_output("a\nb", "b\na\n", True))  # sort(1) ends the last line
        self.assertFalse(dc.same_output("a\nb", "a\nb\n", False))

    def test_hex_is_ptr_except_valgrind_lines(self):
        self.assertEqual(dc.postprocess_hex("p 0x1f, 0xab\n==12== 0x1f"), "p {ptr}, {ptr}\n==12== 0x1f")

    def test_kernel_providers(self):
        self.assertEqual(dc.kernel_provider("syscall::read:entry, fbt::x:return\n{}"), "fbt")
        self.assertEqual(dc.kernel_provider("BEGIN {}\nsched:::on-cpu\n{}"), "sched")
        self.assertEqual(dc.kernel_provider("pid$target::main:entry\n{}"), None)
        self.assertEqual(dc.kernel_provider("/* fbt::x:entry */\nBEGIN {}"), None)
        self.assertEqual(dc.kernel_provider('BEGIN { trace(&`max_pfn); }'), "`max_pfn")
        self.assertEqual(dc.kernel_provider('BEGIN { trace(sizeof (a.out`node_t)); printf("`x"); }'), None)

    def test_first_difference_names_the_lines(self):
        self.assertEqual(dc.first_difference("1\n2\n", "1\n3\n", False), "expected '2', got '3'")
        self.assertEqual(dc.first_difference("1\n2\n", "1\n", True), "missing line '2'")


class ConformanceRun(unittest.TestCase):
    def test_a_suite(self):
        with tempfile.TemporaryDirectory() as root:
            unit = os.path.join(root, "test", "unittest")
            for rel, (text, expected) in SUITE.items():
                path = os.path.join(unit, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
                if rel.endswith(".sh"):
                    os.chmod(path, 0o755)
                if expected is not None:
                    with open(os.path.splitext(path)[0] + ".r", "w") as f:
                        f.write(expected)
            fake = os.path.join(root, "probekit")
            with open(fake, "w") as f:
                f.write(FAKE_PROBEKIT)
            os.chmod(fake, 0o755)
            r = subprocess.run([sys.executable, SCRIPT, "--probekit", fake, "--jobs", "2", "--timeout", "2",
                                "--list-failures", "--list-na", unit],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.splitlines()
            fails = sorted(l for l in lines if l.startswith("FAIL"))
            self.assertEqual(fails, [
                "FAIL test/unittest/a/tst.nosort.d: output differs: extra line 'b'",
                "FAIL test/unittest/a/tst.wrong.d: output differs: expected '4', got '3'",
                "FAIL test/unittest/b/err.D_SYNTAX.badtag.d: wrong tag: expected [D_SYNTAX], got D_PROTO_ARG"
                " | x.d:1:1: error: oops [D_PROTO_ARG]",
                "FAIL test/unittest/b/err.D_SYNTAX.status.d: exit code 2, expected 1"
                " | x.d:1:1: error: oops [D_SYNTAX]",
                "FAIL test/unittest/b/err.untagged.d: exit code 0, expected 1",
                "FAIL test/unittest/e/tst.hang.d: timed out after 2s",
            ])
            na = sorted(l for l in lines if l.startswith("N/A"))
            self.assertEqual(na, [
                "N/A  test/unittest/c/tst.kernel.d: kernel-only provider 'fbt'",
                "N/A  test/unittest/c/tst.shell.sh: shell test driving dtrace-utils' tools",
                "N/A  test/unittest/c/tst.skipped.d: @@skip",
                "N/A  test/unittest/c/tst.trigger.d: trigger 'nosuchtrigger' from test/triggers is not "
                "available (--triggers DIR)",
                "N/A  test/unittest/c/tst.xfail.d: expected to fail in dtrace-utils: dtrace-utils cannot",
            ])
            self.assertIn("a                     5      3      2      0          60.0%", lines)
            self.assertIn("pass / (pass + fail): 6 / 12 = 50.0%; pass / all: 6 / 17 = 35.3%", lines)
            # How each test was run: -xerrtags for err.D_*, -e where there
            # is no trigger, the test.options' -C with runtest.sh's -D.
            with open(os.path.join(root, "args.log")) as f:
                runs = f.read().splitlines()
            self.assertIn("-xerrtags -s test/unittest/b/err.D_SYNTAX.good.d", runs)
            self.assertIn("-s test/unittest/d/other.d -C -DARCH_x86_64 -e", runs)
            self.assertIn("-s test/unittest/d/tst.opts.d -C -DARCH_x86_64", runs)
            # --tags-only: a program rejected with the right tag passes,
            # whatever the exit status; the wrong tag still fails.
            r = subprocess.run([sys.executable, SCRIPT, "--probekit", fake, "--tags-only", "--filter", "/b/",
                                "--list-failures", unit],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.splitlines()
            self.assertIn("pass / (pass + fail): 2 / 4 = 50.0%; pass / all: 2 / 4 = 50.0%", lines)
            self.assertEqual(sorted(l.split(":")[0] for l in lines if l.startswith("FAIL")),
                             ["FAIL test/unittest/b/err.D_SYNTAX.badtag.d", "FAIL test/unittest/b/err.untagged.d"])


if __name__ == "__main__":
    unittest.main()
