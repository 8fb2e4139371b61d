// End-to-end: the D front end over the engine, as a user runs it.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "harness.h"

using namespace probekit::testing;

TEST(DCli, CountAggregationOnPidProbe) {
  auto r = run({probekit_path(), "-q", "-n", "pid$target:a.out:work:entry { @calls = count(); }", "-c",
                target_path("pk_basic-pie-O2") + " 3 100"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("threads 3 calls 100"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+300\n)"))) << r.out;
}

TEST(DCli, PredicateAndPrintfWithArguments) {
  // The trace goes to its own file: recorded hits are printed when drained,
  // so on a shared stdout the program's own line may come between them.
  const std::string file = output_file("d_predicate_printf.txt");
  auto r = run({probekit_path(), "-q", "-o", file, "-n",
                "pid$target:a.out:work:entry /arg0 % 2 == 0/ { printf(\"x=%d\\n\", arg0); }", "-c",
                target_path("pk_basic-nopie-O0") + " 1 6"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(file), "x=0\nx=2\nx=4\n\n");  // the blank line when tracing stops
  EXPECT_EQ(r.out, "threads 1 calls 6 total 36\n");
}

TEST(DCli, BeginEndWithoutTarget) {
  auto r = run({probekit_path(), "-q", "-n", "BEGIN { printf(\"hello %s\\n\", \"world\"); exit(0); }"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello world\n\n");
}

// With no -p/-c, dtrace's $target is 0 and $pid its own pid; pid$target is
// then pid0 (dt_pid.c: D_PROC_BADPID), and a description no provider has
// without a process is D_PDESC_ZERO, not a demand for one.
// -x statusrate: exit() is seen at the consumer's next status check, a
// statusrate after the start, and END fires only then (dtrace-utils'
// rates/tst.statusrate.d); without it, at once. A lower bound, not a
// speed: END cannot come before the check.
TEST(DCli, StatusrateDelaysEndToTheNextStatusCheck) {
  const std::string prog =
      "BEGIN { ts = timestamp; exit(0); } END { printf(\"%d\\n\", timestamp - ts >= 500000000); }";
  auto r = run({probekit_path(), "-q", "-x", "statusrate=1s", "-n", prog});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\n\n");
  r = run({probekit_path(), "-q", "-x", "statusrate=nonsense", "-n", prog});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("[D_PRAGMA_OPTSET]"), std::string::npos) << r.err;
}

// $ppid, $uid, $gid, $pgid and $sid are probekit's own ids, as dtrace(1)
// defines them (they were 0): here the test is probekit's parent, and
// BEGIN's ppid (probekit's) is $ppid.
TEST(DCli, IdMacrosAreTheTracersOwn) {
  auto r = run({probekit_path(), "-q", "-n",
                "BEGIN { printf(\"%d %d %d %d %d %d\\n\", $ppid, $uid, $gid, $pgid, $sid, ppid == $ppid); exit(0); }"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(::getpid()) + " " + std::to_string(::getuid()) + " " + std::to_string(::getgid()) +
                       " " + std::to_string(::getpgid(0)) + " " + std::to_string(::getsid(0)) + " 1\n\n");
}

TEST(DCli, NoTargetIsDtracesTargetZero) {
  auto r = run({probekit_path(), "-q", "-n", "BEGIN /$pid != 0/ { printf(\"%d %d\\n\", $target, $pid == pid); exit(0); }"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0 1\n\n");
  r = run({probekit_path(), "-n", "pid$target:::entry { exit(0); }"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("'pid$target:::entry': pid0 does not contain a valid pid"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[D_PROC_BADPID]"), std::string::npos) << r.err;
  for (const char* desc : {"BEGIN::read:entry", "pidgin:::entry"}) {
    r = run({probekit_path(), "-n", std::string(desc) + " { exit(0); }"});
    EXPECT_EQ(r.status, 1) << desc;
    EXPECT_NE(r.err.find("[D_PDESC_ZERO]"), std::string::npos) << desc << r.err;
  }
}

// exit() stops tracing after its clause: the firing's later clauses do not
// run, END's do (dtrace-utils' activity check before each clause).
TEST(DCli, ExitSkipsTheFiringsLaterClauses) {
  auto r = run({probekit_path(), "-q", "-n",
                "BEGIN { exit(0); printf(\"a\\n\"); } BEGIN { printf(\"b\\n\"); @c = count(); } "
                "END { printf(\"end\\n\"); exit(2); } END { printf(\"end2\\n\"); }"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.out, "a\nend\nend2\n\n");
}

TEST(DCli, TickFiresAndExits) {
  auto r = run({probekit_path(), "-q", "-n", "tick-10ms { @t = count(); } tick-10ms /++i == 5/ { exit(0); }"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+5\n)"))) << r.out;
}

// dtrace(1) exits 1 (E_ERROR) for a program it cannot compile and 2 (E_USAGE)
// only for a command line it cannot parse; probekit does the same.
TEST(DCli, RejectedProgramsExit1WithCaretAsDtraceDoes) {
  auto r = run({probekit_path(), "-n", "BEGIN { x = ; }"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("<command line>:1:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("^"), std::string::npos) << r.err;
}

TEST(DCli, DescriptionMatchingNothingExits1) {
  auto r = run({probekit_path(), "-n", "pid$target:a.out:nosu*function:entry { }", "-c",
                target_path("pk_basic-pie-O2") + " 1 1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("does not match any probes"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[D_PDESC_ZERO]"), std::string::npos) << r.err;
}

// A pid description that matches nothing for a reason dt_pid.c names gets
// its D_PROC_* tag (dtrace-utils' pid/err.D_PROC_*.d), not D_PDESC_ZERO;
// -Z still accepts them.
TEST(DCli, PidDescriptionCausesHaveDtracesTags) {
  const struct {
    const char* desc;
    const char* want;
  } cases[] = {
      {"pid$target:a.out:nosuchfunction:entry", "failed to look up 'nosuchfunction' in module 'a.out' [D_PROC_FUNC]"},
      {"pid$target:a.out:work:beginning", "'beginning' is an invalid probe name"},
      {"pid$target:a.out:work:fffff", "offset 0xfffff is outside of function 'work'"},
      {"pid$target:libc:-:800", "only the a.out module is valid with the '-' function [D_PROC_LIB]"},
      {"pid$target::-:", "only individual addresses may be specified with the '-' function [D_PROC_NAME]"},
      {"pid$target::-:10*", "only individual addresses may be specified with the '-' function [D_PROC_NAME]"},
  };
  for (const auto& c : cases) {
    auto r = run({probekit_path(), "-n", std::string(c.desc) + " { }", "-c", target_path("pk_basic-pie-O2") + " 1 1"});
    EXPECT_EQ(r.status, 1) << c.desc;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << c.desc << ": " << r.err;
    EXPECT_EQ(r.err.find("D_PDESC_ZERO"), std::string::npos) << c.desc << ": " << r.err;
  }
  auto r = run({probekit_path(), "-n", "pid$target:a.out:work:beginning { }", "-c",
                target_path("pk_basic-pie-O2") + " 1 1"});
  EXPECT_NE(r.err.find("[D_PROC_NAME]"), std::string::npos) << r.err;
  r = run({probekit_path(), "-n", "pid$target:a.out:work:fffff { }", "-c", target_path("pk_basic-pie-O2") + " 1 1"});
  EXPECT_NE(r.err.find("[D_PROC_OFF]"), std::string::npos) << r.err;
  r = run({probekit_path(), "-Z", "-q", "-n", "pid$target:a.out:nosuchfunction:entry { } END { printf(\"end\\n\"); }",
           "-c", target_path("pk_basic-pie-O2") + " 1 1"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(DCli, ListPidProbes) {
  auto r = run({probekit_path(), "-l", "-n", "pid$target:a.out:wor*:entry", "-c",
                target_path("pk_basic-pie-O2") + " 1 1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
            "   ID   PROVIDER            MODULE                          FUNCTION NAME");
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n\s+1\s+pid\d+\s+a\.out\s+work entry\n)"))) << r.out;
}

TEST(DCli, ErrorProbeFiresOnAFaultAndTracingGoesOn) {
  const std::string file = output_file("d_error_probe.txt");  // apart from the program's output
  auto r = run({probekit_path(), "-q", "-o", file, "-n",
                "pid$target:a.out:work:entry { trace(copyinstr(arg0)); } "
                "ERROR { printf(\"fault %d at %x\\n\", arg4, arg5); }",
                "-c", target_path("pk_basic-pie-O2") + " 1 3"});
  ASSERT_EQ(r.status, 0) << r.err;
  // work(0), work(1), work(2): copyinstr of a tiny address faults each time.
  EXPECT_NE(read_file(file).find("fault 1 at 0\nfault 1 at 1\nfault 1 at 2\n"), std::string::npos) << read_file(file);
  EXPECT_EQ(r.out, "threads 1 calls 3 total 9\n");
}

TEST(DCli, DurationEndsAProgramThatWouldWaitForCtrlC) {
  // BEGIN only: without -d it waits for Ctrl-C.
  auto r = run({probekit_path(), "-q", "-d", "0.5", "-n", "BEGIN { @a = count(); }"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "\n                1\n");
  auto bad = run({probekit_path(), "-d", "-1", "-n", "BEGIN { exit(0); }"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("probekit: -d: error: "), std::string::npos) << bad.err;
}

TEST(DCli, JsonLinesInBpftraceShapes) {
  const std::string file = output_file("d_json_lines.txt");  // apart from the program's output
  auto r = run({probekit_path(), "-q", "-f", "json", "-o", file, "-n",
                "pid$target:a.out:work:entry { @c[probefunc] = count(); printf(\"x=%d\\n\", arg0); }", "-c",
                target_path("pk_basic-pie-O2") + " 1 2"});
  ASSERT_EQ(r.status, 0) << r.err;
  r.out = read_file(file);
  EXPECT_NE(r.out.find("{\"type\":\"printf\",\"data\":\"x=0\\n\"}\n{\"type\":\"printf\",\"data\":\"x=1\\n\"}\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("{\"type\":\"map\",\"data\":{\"@c\":{\"work\":2}}}\n"), std::string::npos) << r.out;
}

TEST(DCli, CtrlCPrintsAggregationsAndDetachesCleanly) {
  std::string spin_out = ::testing::TempDir() + "/pk_d_spin.txt";
  pid_t pid = spawn({target_path("pk_spin-pie-O2"), "1"}, spin_out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string before = text_snapshot(pid);
  std::string out = ::testing::TempDir() + "/pk_d_ctrlc.txt";
  pid_t tracer = spawn({probekit_path(), "-q", "-p", std::to_string(pid), "-n",
                        "pid$target:a.out:work:entry { @calls = count(); }"},
                       out);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  kill(tracer, SIGINT);
  EXPECT_EQ(wait_exit(tracer, 20), 0);
  std::smatch m;
  std::string text = read_file(out);
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(\n\s+(\d+)\n)"))) << text;
  EXPECT_GT(std::stoull(m[1]), 10u);
  EXPECT_TRUE(alive(pid));
  EXPECT_EQ(text_snapshot(pid), before);
  kill(pid, SIGKILL);
  wait_exit(pid);
}

TEST(DCli, OutputFile) {
  std::string path = output_file("pk_d_out.txt");
  auto r = run({probekit_path(), "-q", "-o", path, "-n",
                "pid$target:a.out:work:entry { printf(\"w%d\\n\", arg0); }", "-c",
                target_path("pk_basic-pie-O2") + " 1 3"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(path), "w0\nw1\nw2\n\n");
  EXPECT_EQ(r.out, "threads 1 calls 3 total 9\n");  // only the program's own output
}

// -o FILE is appended to, as dtrace(1) opens it: a second run adds its
// output after the first's.
TEST(DCli, OutputFileIsAppendedTo) {
  const std::string path = output_file("pk_d_append.txt");
  for (const char* word : {"first", "second"}) {
    auto r = run({probekit_path(), "-q", "-o", path, "-n",
                  std::string("BEGIN { printf(\"") + word + "\\n\"); exit(0); }"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(read_file(path), "first\n\nsecond\n\n");
  // -l -o FILE too.
  auto l = run({probekit_path(), "-l", "-o", path, "-n", "dtrace:::BEGIN"});
  ASSERT_EQ(l.status, 0) << l.err;
  EXPECT_EQ(l.out, "");
  EXPECT_EQ(read_file(path), "first\n\nsecond\n\n   ID   PROVIDER            MODULE                          FUNCTION NAME\n"
                             "    1     dtrace                                                     BEGIN\n");
}

TEST(DCli, CxxFunctionsByBareDemangledOrMangledName) {
  std::string t = target_path("pk_ret_cxx-pie-O2");
  auto r = run({probekit_path(), "-q", "-n",
                "pid$target:a.out:middle:entry, pid$target:a.out:_Z5relayi:entry, "
                "pid$target:a.out:thrower*:entry { @[probefunc] = count(); }",
                "-c", t});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  middle\s+10\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  _Z5relayi\s+10\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  thrower\(int\)\s+\d+\n)"))) << r.out;
  auto tr = run({probekit_path(), "trace", "-C", "-c", t, "p:a.out:middle", "p:a.out:_Z5relayi"});
  ASSERT_EQ(tr.status, 0) << tr.err;
  EXPECT_TRUE(std::regex_search(tr.out, std::regex(R"(p_middle_0\s+10\s)"))) << tr.out;
}

namespace {

std::string write_script(const std::string& name, const std::string& text, bool executable = false) {
  std::string path = ::testing::TempDir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return path;
  std::fputs(text.c_str(), f);
  std::fclose(f);
  if (executable) chmod(path.c_str(), 0755);
  return path;
}

bool have_cpp() { return run({"/bin/sh", "-c", "command -v cpp"}).status == 0; }

}  // namespace

// dtrace -s FILE ARGS...: what follows the script is $1..$n.
TEST(DCli, ArgumentsAfterTheScriptAreMacroArguments) {
  std::string script = write_script("pk_d_args.d", "BEGIN { printf(\"%s %d %s\\n\", $$1, $2 + 1, $$3); exit(0); }\n");
  auto r = run({probekit_path(), "-q", "-s", script, "hello", "41", "three"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello 42 three\n\n");
}

// #!/usr/bin/env -S probekit -qs: the kernel runs env, env splits the
// options, probekit gets `-qs SCRIPT ARGS...`.
TEST(DCli, ShebangScriptRunsWithItsArguments) {
  std::string script = write_script("pk_d_shebang.d",
                                    "#!/usr/bin/env -S " + probekit_path() +
                                        " -qs\n"
                                        "BEGIN { printf(\"args %s %s\\n\", $$1, $$2); exit(0); }\n",
                                    true);
  auto r = run({script, "one", "two"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "args one two\n\n");
}

// pid$1 with the pid as the script's argument attaches to that process, as
// dtrace does without -p.
TEST(DCli, PidProviderNamingAProcessAttachesToIt) {
  std::string spin_out = ::testing::TempDir() + "/pk_d_pidarg_spin.txt";
  pid_t pid = spawn({target_path("pk_spin-pie-O2"), "1"}, spin_out);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string script = write_script("pk_d_pidarg.d",
                                    "pid$1:a.out:work:entry { @[pid] = count(); }\n"
                                    "tick-200ms { printa(\"seen %d\\n\", @); exit(0); }\n");
  auto r = run({probekit_path(), "-q", "-s", script, std::to_string(pid)}, 30);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("seen " + std::to_string(pid) + "\n"), std::string::npos) << r.out << r.err;
  EXPECT_TRUE(alive(pid));
  kill(pid, SIGKILL);
  wait_exit(pid);
}

TEST(DCli, PreprocessorDefinesIncludesAndKeepsLineNumbers) {
  if (!have_cpp()) GTEST_SKIP() << "no cpp on PATH (Debian's cpp package)";
  write_script("pk_d_cpp.h", "#define GREETING \"hi\"\n#define TWICE(x) ((x) * 2)\n");
  std::string script = write_script("pk_d_cpp.d",
                                    "#include \"pk_d_cpp.h\"\n"
                                    "BEGIN\n{\n"
                                    "#if LEVEL > 1\n"
                                    "\tprintf(\"%s %d\\n\", GREETING, TWICE(LEVEL));\n"
                                    "#else\n"
                                    "\tprintf(\"low\\n\");\n"
                                    "#endif\n"
                                    "\texit(0);\n}\n");
  auto r = run({probekit_path(), "-q", "-C", "-D", "LEVEL=3", "-s", script});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hi 6\n\n");
  // -I: a header found only through the directory named.
  std::string dir = ::testing::TempDir() + "/pk_d_cpp_inc";
  mkdir(dir.c_str(), 0755);
  write_script("pk_d_cpp_inc/pk_d_only_here.h", "#define ANSWER 42\n");
  auto inc = run({probekit_path(), "-q", "-C", "-I", dir, "-n",
                  "#include <pk_d_only_here.h>\nBEGIN { printf(\"%d\\n\", ANSWER); exit(0); }"});
  ASSERT_EQ(inc.status, 0) << inc.err;
  EXPECT_EQ(inc.out, "42\n\n");
  auto low = run({probekit_path(), "-q", "-C", "-D", "LEVEL=3", "-U", "LEVEL", "-s", script});
  ASSERT_EQ(low.status, 0) << low.err;
  EXPECT_EQ(low.out, "low\n\n");
  // An error after the #include and the #if is reported at the line written.
  std::string bad = write_script("pk_d_cpp_bad.d",
                                 "#include \"pk_d_cpp.h\"\n"
                                 "#if 1\n"
                                 "BEGIN\n{\n"
                                 "#endif\n"
                                 "\tx = nosuchvar;\n}\n");
  auto e = run({probekit_path(), "-C", "-s", bad});
  EXPECT_EQ(e.status, 1);
  EXPECT_NE(e.err.find(bad + ":6:6: error: unknown identifier 'nosuchvar'"), std::string::npos) << e.err;
  auto failed = run({probekit_path(), "-C", "-n", "#error stop here\nBEGIN { }"});
  EXPECT_EQ(failed.status, 1);
  EXPECT_NE(failed.err.find("probekit: -C: error: the C preprocessor failed"), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("stop here"), std::string::npos) << failed.err;
}

// dtrace runs cpp as strict ISO C (-std=c99 but in -Xs), so a system
// header gives only its ISO C parts: <endian.h> defines __BYTE_ORDER
// without glibc's static inline byte swappers, which D cannot declare
// (dtrace-utils' dif/htonl.d, funcs/tst.hton.d, typedef/tst.TypedefDataAssign.d).
TEST(DCli, PreprocessorReadsSystemHeadersAsStrictIsoC) {
  const std::string prog = "#include <endian.h>\n#include <stdint.h>\n"
                           "BEGIN {\n#if __BYTE_ORDER == __LITTLE_ENDIAN\nprintf(\"%x\\n\", htonl(0x12345678));\n"
                           "#endif\nexit(0); }";
  auto r = run({probekit_path(), "-q", "-C", "-n", prog});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "78563412\n\n");
  for (const char* dialect : {"a", "c", "t"}) {
    auto x = run({probekit_path(), "-q", "-C", "-x", std::string("stdc=") + dialect, "-n", prog});
    EXPECT_EQ(x.status, 0) << dialect << ": " << x.err;
    EXPECT_EQ(x.out, "78563412\n\n") << dialect;
  }
  // __STRICT_ANSI__ is what gcc's -std=c99 says, and what glibc reads.
  auto ansi = run({probekit_path(), "-q", "-C", "-n",
                   "BEGIN {\n#ifdef __STRICT_ANSI__\nprintf(\"%d\\n\", __STDC_VERSION__);\n#endif\nexit(0); }"});
  ASSERT_EQ(ansi.status, 0) << ansi.err;
  EXPECT_EQ(ansi.out, "199901\n\n");
}

// Without -C, dtrace(1) accepts -D, -U and -I and the preprocessor does
// not run; -x define=, undef= and stdc= are the same options (dtrace-utils'
// options/tst.define.d, tst.undef.d, tst.stdc-*.d, err.stdc-x.d).
TEST(DCli, PreprocessorOptionsWithoutCAreAcceptedAndXSpellsThem) {
  auto r = run({probekit_path(), "-q", "-D", "X=1", "-U", "Y", "-I", "/nonexistent", "-n",
                "BEGIN { printf(\"ran\\n\"); exit(0); }"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n\n");
  EXPECT_EQ(r.err, "");
  auto def = run({probekit_path(), "-q", "-C", "-x", "define=probe=BEGIN", "-n", "probe { printf(\"def\\n\"); exit(0); }"});
  EXPECT_EQ(def.status, 0) << def.err;
  EXPECT_EQ(def.out, "def\n\n");
  auto undef = run({probekit_path(), "-q", "-C", "-x", "undef=__linux", "-n",
                    "BEGIN {\n#ifdef __linux\nprintf(\"linux\\n\");\n#else\nprintf(\"none\\n\");\n#endif\nexit(0); }"});
  EXPECT_EQ(undef.status, 0) << undef.err;
  EXPECT_EQ(undef.out, "none\n\n");
  const std::string stdc = "BEGIN {\n#ifdef __STDC__\nprintf(\"%d\\n\", __STDC__);\n#else\nprintf(\"none\\n\");\n#endif\nexit(0); }";
  for (auto [dialect, want] : std::vector<std::pair<std::string, std::string>>{
           {"a", "0\n\n"}, {"c", "1\n\n"}, {"s", "none\n\n"}, {"t", "0\n\n"}}) {
    auto x = run({probekit_path(), "-q", "-C", "-x", "stdc=" + dialect, "-n", stdc});
    EXPECT_EQ(x.status, 0) << dialect << ": " << x.err;
    EXPECT_EQ(x.out, want) << dialect;
  }
  auto bad = run({probekit_path(), "-x", "stdc=X", "-n", "BEGIN { exit(0); }"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("probekit: -x stdc: error: 'X' is not a C dialect"), std::string::npos) << bad.err;
}

// DTrace's D_PDESC_ZERO: BEGIN:tick-1 (function BEGIN, name tick-1) and
// profile::tick-1sec (module profile) name no probe; -Z accepts them.
TEST(DCli, DescriptionsMatchingNothingAreDPdescZeroUnlessZ) {
  for (const char* prog : {"BEGIN:tick-1 { exit(0); }", "profile::tick-1sec { exit(0); } BEGIN { }",
                           "foo:BEGIN { exit(0); }"}) {
    auto r = run({probekit_path(), "-q", "-n", prog}, 10);
    EXPECT_EQ(r.status, 1) << prog;
    EXPECT_NE(r.err.find("does not match any probes"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("[D_PDESC_ZERO]"), std::string::npos) << r.err;
  }
  auto z = run({probekit_path(), "-q", "-Z", "-n", "profile::tick-1sec { } BEGIN { printf(\"ok\\n\"); exit(0); }"});
  EXPECT_EQ(z.status, 0) << z.err;
  EXPECT_EQ(z.out, "ok\n\n");
  // -x zdefs and its pragma are -Z (dtrace-utils' options/tst.zdefs.d).
  auto x = run({probekit_path(), "-q", "-x", "zdefs", "-n", "fake:oracle:probe { } BEGIN { printf(\"x\\n\"); exit(0); }"});
  EXPECT_EQ(x.status, 0) << x.err;
  EXPECT_EQ(x.out, "x\n\n");
  auto pragma = run({probekit_path(), "-q", "-n",
                     "#pragma D option zdefs\nfake:oracle:probe { } BEGIN { printf(\"p\\n\"); exit(0); }"});
  EXPECT_EQ(pragma.status, 0) << pragma.err;
  EXPECT_EQ(pragma.out, "p\n\n");
}

// -x cpp is -C (dtrace-utils' options/tst.cpp.d); -G, dtrace's ELF object
// of the program, is refused as a failure of the run (1), not of the
// command line (2), with what to do instead.
TEST(DCli, XCppIsCAndGIsRefused) {
  auto cpp = run({probekit_path(), "-q", "-x", "cpp", "-n", "BEGIN {\n#if 1\nprintf(\"cpp\\n\");\n#endif\nexit(0); }"});
  EXPECT_EQ(cpp.status, 0) << cpp.err;
  EXPECT_EQ(cpp.out, "cpp\n\n");
  auto g = run({probekit_path(), "-G", "-x", "ldpath=/nonexistent/ld", "-n", "BEGIN { exit(0); }"});
  EXPECT_EQ(g.status, 1);
  EXPECT_NE(g.err.find("probekit: -G: error: probekit cannot make an ELF object of a D program"), std::string::npos)
      << g.err;
  EXPECT_EQ(g.out, "");
}

// dtrace(1)'s notice once tracing is on: destructive actions allowed (-w or
// the pragma), unless quiet.
TEST(DCli, AllowingDestructiveActionsIsNoted) {
  auto w = run({probekit_path(), "-w", "-n", "BEGIN { exit(0); }"});
  EXPECT_EQ(w.status, 0) << w.err;
  EXPECT_NE(w.err.find("probekit: allowing destructive actions\n"), std::string::npos) << w.err;
  auto q = run({probekit_path(), "-w", "-q", "-n", "BEGIN { exit(0); }"});
  EXPECT_EQ(q.err, "");
  auto none = run({probekit_path(), "-n", "BEGIN { exit(0); }"});
  EXPECT_EQ(none.err.find("allowing destructive"), std::string::npos) << none.err;
}

// The profile provider has no tick or profile probe faster than every
// 200us (5000 Hz), nor one without a number: dtrace-utils'
// err.D_PDESC_ZERO.oneus.d, err.D_PDESC_ZERO.profile.d. -Z accepts them.
TEST(DCli, ProfileProbesFasterThan5000HzMatchNothing) {
  for (const char* prog : {"tick-1us { exit(0); }", "profile-1ns { exit(0); }", "profile-5001 { exit(0); }",
                           "tick-199us { exit(0); }", "profile-n { exit(0); }"}) {
    auto r = run({probekit_path(), "-q", "-n", prog}, 10);
    EXPECT_EQ(r.status, 1) << prog;
    EXPECT_NE(r.err.find("at most 5000 Hz (every 200us)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("[D_PDESC_ZERO]"), std::string::npos) << r.err;
  }
  auto z = run({probekit_path(), "-q", "-Z", "-n", "tick-1us { exit(1); } tick-200us { printf(\"ok\\n\"); exit(0); }"});
  EXPECT_EQ(z.status, 0) << z.err;
  EXPECT_EQ(z.out, "ok\n\n");
}

TEST(DCli, SyntaxErrorIsReportedNeverRun) {
  auto r = run({probekit_path(), "-n", "BEGIN { trace(epid)); printf(\"ran\\n\"); exit(0); }"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("expected ';' after the statement [D_SYNTAX]"), std::string::npos) << r.err;
}

// --- dtrace(1)'s command: -V, -e, -b, -L, the default output, exit() ---------

TEST(DCli, VersionFlagPrintsTheDVersion) {
  auto r = run({probekit_path(), "-V"}, 10);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "probekit: Oracle D 2.0\n");
  EXPECT_EQ(r.err, "");
}

// -e compiles and exits: the command is never started (it would create the
// marker), and a program that does not compile still fails.
TEST(DCli, CompileOnlyStartsNothing) {
  const std::string marker = ::testing::TempDir() + "/pk_e_marker";
  std::filesystem::remove(marker);
  auto r = run({probekit_path(), "-e", "-n", "BEGIN { trace(1); }", "-c", "/usr/bin/touch " + marker}, 10);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(std::filesystem::exists(marker));
  auto bad = run({probekit_path(), "-e", "-n", "BEGIN { x = ; }"}, 10);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("[D_SYNTAX]"), std::string::npos) << bad.err;
}

// A system call's entry probe has that call's arguments (the CLI answers
// probe_args from the syscall table), as dtrace's syscall provider types
// them: write() has three, so args[3] is D_ARGS_IDX when compiled.
TEST(DCli, SyscallArgsBeyondTheCallsArgumentsAreRefused) {
  auto bad = run({probekit_path(), "-e", "-n", "write:entry { trace(args[2]); trace(args[3]); }"}, 10);
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_NE(bad.err.find("index 3 is out of range for write:entry args[]: it has 3 arguments [D_ARGS_IDX]"),
            std::string::npos)
      << bad.err;
  auto ok = run({probekit_path(), "-e", "-n", "syscall::write:entry { trace(args[2]); }"}, 10);
  EXPECT_EQ(ok.status, 0) << ok.err;
}

TEST(DCli, BufferSizeFlagTakesDTracesSizes) {
  auto ok = run({probekit_path(), "-q", "-b", "1m", "-n", "BEGIN { printf(\"ok\\n\"); exit(0); }"}, 10);
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, "ok\n\n");
  auto bad = run({probekit_path(), "-q", "-b", "4x", "-n", "BEGIN { exit(0); }"}, 10);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("failed to set option 'bufsize': '4x' is not a size"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("[D_PRAGMA_OPTSET]"), std::string::npos) << bad.err;
}

// -b SIZE and -x bufsize=SIZE are set in command-line order, as dtrace(1)
// sets them: each is checked, so a bad one fails whichever comes last.
TEST(DCli, BufferSizeFlagAndOptionAreEachChecked) {
  for (std::vector<std::string> order : {std::vector<std::string>{"-b", "4x", "-x", "bufsize=1m"},
                                         std::vector<std::string>{"-x", "bufsize=4x", "-b", "1m"}}) {
    std::vector<std::string> argv = {probekit_path(), "-q"};
    argv.insert(argv.end(), order.begin(), order.end());
    argv.insert(argv.end(), {"-n", "BEGIN { exit(0); }"});
    auto r = run(argv, 10);
    EXPECT_EQ(r.status, 1) << order[0];
    EXPECT_NE(r.err.find("failed to set option 'bufsize': '4x' is not a size"), std::string::npos) << r.err;
  }
}

// A buffer smaller than one record, aggregation entry or dynamic variable of
// the program stops it before anything runs, after the matches, as dtrace's
// "could not enable tracing" (EDT_BUFTOOSMALL); one that fits runs it.
TEST(DCli, BuffersTooSmallForTheProgramAreRefused) {
  struct Case {
    std::vector<std::string> flags;
    std::string program;
    std::string why;
  };
  const std::vector<Case> cases = {
      {{"-x", "aggsize=8"}, "BEGIN { @ = count(); exit(0); }",
       "(-x aggsize=8: an aggregation entry takes 48 bytes: use aggsize=48 or more)"},
      {{"-x", "dynvarsize=15"}, "BEGIN { a[1] = 1; exit(0); }",
       "(-x dynvarsize=15: a dynamic variable takes 20 bytes: use dynvarsize=20 or more)"},
      {{"-b", "59"}, "BEGIN { exit(0); }", "(-x bufsize=59: a record takes 64 bytes: use bufsize=64 or more)"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {probekit_path()};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    argv.insert(argv.end(), {"-n", c.program});
    auto r = run(argv, 10);
    EXPECT_EQ(r.status, 1) << c.flags[1];
    EXPECT_EQ(r.out, "") << c.flags[1];
    EXPECT_EQ(r.err, "probekit: description 'BEGIN ' matched 1 probe\n"
                     "probekit: could not enable tracing: Enabling exceeds size of buffer " + c.why + "\n");
  }
  auto fits = run({probekit_path(), "-q", "-x", "aggsize=48", "-b", "64", "-n", "BEGIN { @ = count(); exit(0); }"}, 10);
  EXPECT_EQ(fits.status, 0) << fits.err;
  EXPECT_EQ(fits.out, "\n                1\n");
}

// The last argument after the program must be used, as dtrace(1) wants it
// (D_MACRO_UNUSED), unless -x argref; so two -e after "--" are arguments.
TEST(DCli, AnUnusedLastArgumentIsAnErrorUnlessArgref) {
  auto unused = run({probekit_path(), "-n", "BEGIN { exit(0); }", "1234"}, 10);
  EXPECT_EQ(unused.status, 1);
  EXPECT_EQ(unused.err,
            "<command line>: error: extraneous argument '1234' ($1 is not referenced): use it in the program, "
            "remove it, or pass '-x argref' [D_MACRO_UNUSED]\n");
  auto dashes = run({probekit_path(), "-n", "BEGIN { exit(0); }", "--", "-e", "-e"}, 10);
  EXPECT_EQ(dashes.status, 1);
  EXPECT_NE(dashes.err.find("extraneous argument '-e' ($2 is not referenced)"), std::string::npos) << dashes.err;
  auto used = run({probekit_path(), "-q", "-n", "BEGIN { printf(\"%d\\n\", $1); exit(0); }", "1234"}, 10);
  EXPECT_EQ(used.status, 0) << used.err;
  EXPECT_EQ(used.out, "1234\n\n");
  auto argref = run({probekit_path(), "-q", "-xargref", "-n", "BEGIN { exit(0); }", "1234"}, 10);
  EXPECT_EQ(argref.status, 0) << argref.err;
}

// -L DIR: DIR/*.d is compiled before the program; an error in it names it.
TEST(DCli, LibraryDirectoryIsCompiledFirst) {
  const std::string dir = ::testing::TempDir() + "/pk_libdir";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/answer.d") << "inline int ANSWER = 42;\n";
  auto r = run({probekit_path(), "-q", "-L", dir, "-n", "BEGIN { printf(\"%d\\n\", ANSWER); exit(0); }"}, 10);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "42\n\n");

  const std::string bad_dir = ::testing::TempDir() + "/pk_libdir_bad";
  std::filesystem::create_directories(bad_dir);
  std::ofstream(bad_dir + "/bad.d") << "\ninline int BROKEN = ;\n";
  auto bad = run({probekit_path(), "-q", "-L", bad_dir, "-n", "BEGIN { exit(0); }"}, 10);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find(bad_dir + "/bad.d:2:"), std::string::npos) << bad.err;

  // #pragma D depends_on library: met by a library -L loaded (dt_pragma.c's
  // D_PRAGMA_DEPEND otherwise).
  const std::string dep_dir = ::testing::TempDir() + "/pk_libdir_dep";
  std::filesystem::create_directories(dep_dir);
  std::ofstream(dep_dir + "/net.d") << "inline int NETVAL = 7;\n";
  std::ofstream(dep_dir + "/user.d") << "#pragma D depends_on library net.d\ninline int USER = NETVAL + 1;\n";
  auto dep = run({probekit_path(), "-q", "-L", dep_dir, "-n", "BEGIN { printf(\"%d\\n\", USER); exit(0); }"}, 10);
  EXPECT_EQ(dep.status, 0) << dep.err;
  EXPECT_EQ(dep.out, "8\n\n");
  auto nodep = run({probekit_path(), "-q", "-L", dir, "-n", "#pragma D depends_on library net.d\nBEGIN { exit(0); }"}, 10);
  EXPECT_EQ(nodep.status, 1);
  EXPECT_NE(nodep.err.find("program requires library 'net.d'"), std::string::npos) << nodep.err;
  EXPECT_NE(nodep.err.find("[D_PRAGMA_DEPEND]"), std::string::npos) << nodep.err;

  auto missing = run({probekit_path(), "-L", dir + "/nonexistent", "-n", "BEGIN { exit(0); }"}, 10);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("probekit: -L " + dir + "/nonexistent: error: cannot read the library directory"),
            std::string::npos)
      << missing.err;
}

// Without -q: dtrace's notice per -n / -s on stderr, the header, a line per
// recording firing with its columns, and the blank line when tracing stops.
TEST(DCli, DefaultOutputIsDtraces) {
  auto r = run({probekit_path(), "-n", "BEGIN { trace(7); exit(0); }"}, 10);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(normalize(r.out, R"(\n +\d+ )", "\n  C "),
            "CPU     ID                    FUNCTION:NAME\n"
            "  C      1                           :BEGIN           7\n"
            "\n");
  EXPECT_EQ(r.err, "probekit: description 'BEGIN ' matched 1 probe\n");

  const std::string file = ::testing::TempDir() + "/pk_matched.d";
  std::ofstream(file) << "BEGIN\n{\n  exit(0);\n}\n\nEND, BEGIN\n{\n}\n";
  auto s = run({probekit_path(), "-s", file, "-n", "tick-1s /0/ { }"}, 10);
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_EQ(s.err, "probekit: script '" + file + "' matched 3 probes\nprobekit: description 'tick-1s ' matched 1 probe\n");
  // The same through the C preprocessor and after a -L library, which move
  // the program's lines.
  const std::string dir = ::testing::TempDir() + "/pk_matched_lib";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/lib.d") << "inline int ONE = 1;\n\n\n";
  auto c = run({probekit_path(), "-C", "-L", dir, "-s", file, "-n", "tick-1s /0/ { }"}, 10);
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err, s.err);

  // The quiet option, however it is set, silences the notices too.
  for (const char* quiet : {"#pragma D option quiet\n", "#pragma D option quiet=1\n"}) {
    std::ofstream(file) << quiet << "BEGIN { printf(\"q\\n\"); exit(0); }\n";
    auto q = run({probekit_path(), "-s", file}, 10);
    EXPECT_EQ(q.status, 0) << q.err;
    EXPECT_EQ(q.out, "q\n\n");
    EXPECT_EQ(q.err, "");
  }
}

// A -c target under the system-call filter (a syscall probe) cannot be
// detached: exit() kills it, and probekit ends at once with the program's
// output and status 0. pk_spin loops for ever, sleeping in clock_nanosleep.
TEST(DCli, ExitEndsALoopingTargetUnderTheSyscallFilter) {
  const std::string file = output_file("pk_exit_filtered.txt");
  auto r = run({probekit_path(), "-o", file, "-n",
                "syscall::clock_nanosleep:entry /++n == 3/ { printf(\"three\\n\"); exit(0); }", "-c",
                target_path("pk_spin-pie-O2")},
               30);
  EXPECT_EQ(r.status, 0) << r.err;
  // printf's newline, the end of the firing's line (not -q), then the blank
  // line when tracing stops.
  EXPECT_EQ(normalize(read_file(file), R"(\n +\d+ +\d+ )", "\n C ID "),
            "CPU     ID                    FUNCTION:NAME\n C ID            clock_nanosleep:entry three\n\n\n");
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(probekit: note: pid \d+ killed: exit\(\) ended tracing)"))) << r.err;
}

// Without the filter too: exit() ends the command probekit started, as
// dtrace(1) does, instead of leaving it running (and printing) after
// probekit has returned. The harness's run() reads the pipe the command
// inherited: it returns only once the command is gone.
TEST(DCli, ExitEndsTheCommandProbekitStarted) {
  auto r = run({probekit_path(), "-n", "pid$target:a.out:work:entry /arg0 == 3/ { exit(0); }", "-c",
                target_path("pk_spin-pie-O2") + " 2"},
               30);
  EXPECT_EQ(r.status, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"(probekit: note: pid (\d+) killed: exit\(\) ended tracing)")))
      << r.err;
  EXPECT_NE(::kill(std::stoi(m[1]), 0), 0);  // gone, and reaped
  EXPECT_EQ(errno, ESRCH);
}

// exit() in the clause of a system call's entry: as under dtrace, whose
// consumer sees exit() later, the call is made before the command is ended
// (dtrace-utils' funcs/copyinstr tests expect delaydie's message on
// stderr). Then the shell runs on to its next traced event (the next
// write's entry: no clause runs after exit()) and is killed there; that
// second write may or may not get out before the kill lands, the third
// never does.
TEST(DCli, ExitAtASystemCallEntryLetsTheCallBeMade) {
  auto r = run({probekit_path(), "-n", "syscall::write:entry /pid == $target/ { exit(0); }", "-c",
                "/bin/sh -c 'echo first >&2; echo second >&2; sleep 5; echo third >&2'"},
               30);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("matched 1 probe\\nfirst\\n(second\\n)?probekit: note: pid \\d+ "
                                                  "killed: exit\\(\\) ended tracing")))
      << r.err;
}

// BEGIN, END and tick-N need no target (tick-N is a timer in probekit).
TEST(DCli, ProgramsWithoutATarget) {
  auto r = run({probekit_path(), "-q", "-n", "BEGIN { printf(\"b\\n\"); } tick-1ms /++i == 3/ { exit(0); } END { printf(\"e\\n\"); }"}, 10);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "b\ne\n\n");
  // profile-N with no target samples every CPU where the host allows it:
  // KernelCli.ProfileWithoutATarget* cover it, with and without the rights.
}

// The target's own types, from its DWARF (tests/targets/pk_types.c), as
// DTrace reads CTF: a struct pointer argument, nested members, a bit-field,
// an array member and a pointer to the next struct; every build of the target.
TEST(DCli, TargetStructsFromDwarf) {
  const std::string program =
      "pid$target:a.out:visit:entry {\n"
      "  this->n = (struct node *)arg0;\n"
      "  printf(\"%d %d %d %d %s %d %d %d\\n\", this->n->id, this->n->at.x, ((struct node *)arg0)->at.y,\n"
      "         this->n->f.delta, stringof(this->n->name), this->n->samples[3], this->n->next ? this->n->next->id : 0,\n"
      "         sizeof (struct node));\n"
      "  printf(\"%.1f\\n\", this->n->weight);\n"
      "}";
  for (const char* build : {"pie-O0", "nopie-O2"}) {
    const std::string file = output_file("d_target_structs.txt");
    auto r = run({probekit_path(), "-q", "-o", file, "-n", program, "-c",
                  target_path(std::string("pk_types-") + build) + " 3"});
    ASSERT_EQ(r.status, 0) << build << ": " << r.err;
    EXPECT_EQ(r.out, "visited 3 nodes, sum 54\n") << build;
    EXPECT_EQ(read_file(file),
              "1 10 -1 -1 node-1 103 2 72\n1.5\n"
              "2 20 -2 -2 node-2 203 3 72\n3.0\n"
              "3 30 -3 -3 node-3 303 0 72\n4.5\n\n")
        << build;
  }
}

// print() of a pointer to the target's struct: every member with its C type
// from DWARF, in dtrace-utils' layout (a zero pointer and the double left
// out, the bit-field's 5 bits of -1 shown unsigned as dtrace-utils shows them).
TEST(DCli, PrintShowsTheTargetsStruct) {
  const std::string file = output_file("d_print.txt");
  auto r = run({probekit_path(), "-q", "-o", file, "-n", "pid$target:a.out:visit:entry { print((struct node *)arg0); }",
                "-c", target_path("pk_types-pie-O0") + " 1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "visited 1 nodes, sum 9\n");
  const std::string indent(44, ' ');
  const std::string expected = indent + "(struct node) {\n" + indent + " .id = (long)1,\n" + indent +
                               " .at = (struct point) {\n" + indent + "  .x = (int)10,\n" + indent +
                               "  .y = (int)-1,\n" + indent + " },\n" + indent + " .u = (union) {\n" + indent +
                               "  .as_int = (int)16909060,\n" + indent + "  .bytes = (unsigned char [4]) [\n" +
                               indent + "   (unsigned char)4,\n" + indent + "   (unsigned char)3,\n" + indent +
                               "   (unsigned char)2,\n" + indent + "   (unsigned char)1,\n" + indent + "  ],\n" +
                               indent + " },\n" + indent + " .f = (struct flags) {\n" + indent +
                               "  .ready = (unsigned int)1,\n" + indent + "  .mode = (unsigned int)1,\n" + indent +
                               "  .delta = (int)31,\n" + indent + "  .big = (unsigned long long)78187493530,\n" +
                               indent + " },\n" + indent + " .name = (char [16]) [\n" + indent + "  (char)'n',\n" +
                               indent + "  (char)'o',\n" + indent + "  (char)'d',\n" + indent + "  (char)'e',\n" +
                               indent + "  (char)'-',\n" + indent + "  (char)'1',\n" + indent + " ],\n" + indent +
                               " .samples = (short [4]) [\n" + indent + "  (short)100,\n" + indent +
                               "  (short)101,\n" + indent + "  (short)102,\n" + indent + "  (short)103,\n" + indent +
                               " ],\n" + indent + "}\n\n";
  const std::string out = read_file(file);
  ASSERT_TRUE(std::regex_search(out, std::regex("^0x[0-9a-f]+ = \\*\n"))) << out;
  EXPECT_EQ(out.substr(out.find('\n') + 1), expected) << out;
}

// The target's typedef names (DWARF) are types, as DTrace's CTF names are,
// and a name may be scoped to a module: a.out`node_t, struct a.out`node;
// a module that does not define it leaves the struct incomplete.
TEST(DCli, TargetTypedefsAndModuleScopes) {
  const std::string file = output_file("d_typedefs.txt");
  auto r = run({probekit_path(), "-q", "-o", file, "-n",
                "pid$target:a.out:visit:entry { this->n = (node_t *)arg0; printf(\"%d %d %d %d\\n\", this->n->id, "
                "((a.out`node_t *)arg0)->at.x, ((struct a.out`node *)arg0)->at.y, sizeof (node_t)); }",
                "-c", target_path("pk_types-pie-O0") + " 2"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "visited 2 nodes, sum 27\n");
  EXPECT_EQ(read_file(file), "1 10 -1 72\n2 20 -2 72\n\n");
  // A typedef of a scalar (pk_types' counter_t, unsigned long) is its type.
  const std::string scalar_file = output_file("d_typedefs_scalar.txt");
  auto scalar = run({probekit_path(), "-q", "-o", scalar_file, "-n",
                     "pid$target:a.out:visit:entry { printf(\"%u %d\\n\", (counter_t)-1, sizeof (a.out`counter_t)); }",
                     "-c", target_path("pk_types-pie-O0") + " 1"});
  EXPECT_EQ(scalar.status, 0) << scalar.err;
  EXPECT_EQ(read_file(scalar_file), "18446744073709551615 8\n\n");
  auto bad = run({probekit_path(), "-q", "-n", "pid$target:a.out:visit:entry { trace(((struct libc.so.6`node *)arg0)->id); }",
                  "-c", target_path("pk_types-pie-O0") + " 1"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("[D_OP_INCOMPLETE]"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out, "");
}

// The target's enums (DWARF), as DTrace reads CTF's: `enum color` in casts
// and declarations, its enumerators as constants, and print() showing an
// enum member by name; a struct variable holds a copy of the target's
// struct, which D may change without touching the target (pk_types checks
// that paint() saw its own values, and its output stays byte-identical).
TEST(DCli, TargetEnumsAndStructValues) {
  const std::string file = output_file("d_enums.txt");
  auto r = run({probekit_path(), "-q", "-o", file, "-n",
                "enum color k;\n"
                "pid$target:a.out:paint:entry {\n"
                "  this->t = (struct tagged *)arg0;\n"
                "  k = (enum color)this->t->hue;\n"
                "  printf(\"%d %d %d %d %d\\n\", this->t->hue, this->t->hue == BLUE, GREEN, k, sizeof (enum color));\n"
                "  print(this->t);\n"
                "  this->copy = *this->t;\n"
                "  this->copy.weight = 99;\n"
                "  this->copy.hue = RED;\n"
                "  printf(\"%d %d %d\\n\", this->copy.hue, this->copy.weight, this->t->weight);\n"
                "}",
                "-c", target_path("pk_types-pie-O0") + " 2"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "visited 2 nodes, sum 27\n");
  const std::string indent(44, ' ');
  const std::string out = read_file(file);
  ASSERT_TRUE(std::regex_search(out, std::regex("^6 1 5 6 4\n0x[0-9a-f]+ = \\*\n"))) << out;
  EXPECT_EQ(out.substr(out.find('\n', out.find('\n') + 1) + 1),
            indent + "(struct tagged) {\n" + indent + " .hue = (enum color)BLUE,\n" + indent +
                " .weight = (int)2,\n" + indent + "}\n0 99 2\n\n")
      << out;
}

// copyout()/copyoutstr() (destructive: -w) write the target's memory
// through the engine; a plain store through a pointer into it is an
// invalid address, as in DTrace, and leaves the target's bytes alone.
TEST(DCli, CopyoutWritesTheTargetAndStoresDoNot) {
  const std::string target = target_path("pk_types-nopie-O2") + " 1 original";
  const std::string file = output_file("d_copyout.txt");
  auto w = run({probekit_path(), "-q", "-w", "-o", file, "-n",
                "pid$target:a.out:relabel:entry { copyoutstr(\"patched\", arg0, 8); copyout(0x21, arg0 + 7, 1); }",
                "-c", target});
  ASSERT_EQ(w.status, 0) << w.err;
  EXPECT_EQ(w.out, "visited 1 nodes, sum 9\nlabel patched!\n");
  auto store = run({probekit_path(), "-q", "-o", file, "-n", "pid$target:a.out:relabel:entry { *(char *)arg0 = 'X'; }",
                    "-c", target});
  EXPECT_EQ(store.status, 0) << store.err;
  EXPECT_EQ(store.out, "visited 1 nodes, sum 9\nlabel original\n");
  EXPECT_NE(store.err.find("invalid address"), std::string::npos) << store.err;
}

TEST(DCli, UnknownTargetStructIsAnError) {
  auto r = run({probekit_path(), "-q", "-n", "pid$target:a.out:visit:entry { trace(((struct nosuch *)arg0)->x); }",
                "-c", target_path("pk_types-pie-O0") + " 1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("[D_OP_INCOMPLETE]"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// ucaller at a function's entry is its caller (the frame-pointer walk alone
// misses it there: rbp is still the caller's), also when only two frames are
// asked for (ustack(2)).
TEST(DCli, UcallerAtEntryIsTheCaller) {
  const std::string file = output_file("d_ucaller.txt");
  auto r = run({probekit_path(), "-q", "-o", file, "-n",
                "pid$target:a.out:visit:entry { printf(\"%s\\n\", ufunc(ucaller)); ustack(2); }", "-c",
                target_path("pk_types-pie-O2") + " 1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string out = read_file(file);
  EXPECT_TRUE(std::regex_match(
      out, std::regex("pk_types-pie-O2`main\n\n {14}pk_types-pie-O2`visit\n {14}pk_types-pie-O2`main\\+0x[0-9a-f]+\n\n")))
      << out;
}

// ftruncate() (destructive: -w) empties the output as dtrace(1)'s does
// (dtrace-utils' tst.ftruncate: ten lines, ftruncate(), ten more): with
// -o FILE and with stdout redirected to a file, the first ten are gone and
// the rest start the file (no hole of NULs where they were); on a pipe
// nothing can be truncated and every line is there.
TEST(DCli, FtruncateEmptiesTheOutputFile) {
  const std::string program = "tick-1ms { printf(\"%d\\n\", i++); } tick-1ms /i == 10/ { ftruncate(); } "
                              "tick-1ms /i == 20/ { exit(0); }";
  std::string all, expected;
  for (int i = 0; i < 20; ++i) (i < 10 ? all : expected) += std::to_string(i) + "\n";
  all += expected + "\n";  // the blank line when tracing stops
  expected += "\n";
  const std::string file = output_file("d_ftruncate_o.txt");
  auto r = run({probekit_path(), "-q", "-w", "-o", file, "-n", program});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(file), expected);
  unlink(file.c_str());

  const std::string out = ::testing::TempDir() + "/d_ftruncate_stdout.txt";
  pid_t pk = spawn({probekit_path(), "-q", "-w", "-n", program}, out);
  ASSERT_EQ(wait_exit(pk, 60), 0);
  EXPECT_EQ(read_file(out), expected);
  unlink(out.c_str());

  auto p = run({probekit_path(), "-q", "-w", "-n", program});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(p.out, all);
}

// dtrace-utils' test suite runs every err.D_* test with -xerrtags and each
// drp.* test with -xdroptags (scripts/dtrace-conformance.py does the same):
// both are accepted, and an error still carries its tag.
TEST(DCli, ErrtagsAndDroptagsAreAcceptedAsDtraceAcceptsThem) {
  auto ok = run({probekit_path(), "-q", "-x", "errtags", "-xdroptags", "-n", "BEGIN { trace(1); exit(0); }"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.err, "");
  EXPECT_EQ(ok.out, "1\n");
  auto bad = run({probekit_path(), "-q", "-xerrtags", "-n", "BEGIN { trace(epid)); }"});
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_NE(bad.err.find("expected ';' after the statement [D_SYNTAX]"), std::string::npos) << bad.err;
}

// Option precedence as dtrace(1)'s: the command line's options are set
// before the program is compiled and each `#pragma D option` after, so the
// pragma wins (tests/d/tst.option_precedence.d has quiet and strsize):
// -w with `destructive=no` in the program refuses system(), and
// -q with `quiet=no` prints the "matched" line and dtrace's default output.
TEST(DCli, PragmaOptionsWinOverTheCommandLine) {
  auto w = run({probekit_path(), "-w", "-n", "#pragma D option destructive=no\nBEGIN { system(\"true\"); }"});
  EXPECT_EQ(w.status, 1) << w.err;
  EXPECT_NE(w.err.find("'system()' is a destructive action: run with '-w' to allow it [D_DESTRUCT]"),
            std::string::npos)
      << w.err;
  auto q = run({probekit_path(), "-q", "-n", "#pragma D option quiet=no\nBEGIN { trace(1); exit(0); }"});
  EXPECT_EQ(q.status, 0) << q.err;
  EXPECT_NE(q.err.find("matched 1 probe"), std::string::npos) << q.err;
  EXPECT_EQ(q.out, "CPU     ID                    FUNCTION:NAME\n  0      1                           :BEGIN           1\n\n");
  auto x = run({probekit_path(), "-x", "quiet=no", "-n", "#pragma D option quiet\nBEGIN { trace(1); exit(0); }"});
  EXPECT_EQ(x.status, 0) << x.err;
  EXPECT_EQ(x.err, "");
  EXPECT_EQ(x.out, "1\n");
}
