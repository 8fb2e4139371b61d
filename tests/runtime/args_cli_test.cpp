// End-to-end: arguments by name and type (issue 4). `probekit trace`'s
// $arg:NAME and D's args[N] read pk_args's parameters from DWARF — eight
// integers (two on the stack), a const char *, floats and doubles (SSE
// registers) — in four builds (PIE or not, -O0 and -O2: at the entry the ABI
// locations hold whatever the optimizer does later). The build without
// debug information gives the clear message, and $argN / argN still work.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "harness.h"

using namespace probekit::testing;

namespace {

class ArgBuilds : public ::testing::TestWithParam<std::string> {
protected:
  std::string target() const { return target_path("pk_args-" + GetParam()); }
};

// The "name: (func+0x0) ARGS" part of each ftrace-style line, in order.
std::vector<std::string> event_args(const std::string& out) {
  std::vector<std::string> v;
  std::istringstream is(out);
  std::string l;
  std::regex line(R"(^\s*\S+-\d+\s+\[\d{3}\]\s+\d+\.\d{6}: (.*)$)");
  while (std::getline(is, l)) {
    std::smatch m;
    if (std::regex_match(l, m, line)) v.push_back(m[1]);
  }
  return v;
}

// Drops the traced program's own line ("sum ... total ...").
std::string without_program(const std::string& out) { return normalize(out, R"(sum -?\d+ total [-0-9.]+\n)", ""); }

const char* kProgram = "sum 16000000534 total 19999999999.750\n";  // pk_args 2

}  // namespace

TEST_P(ArgBuilds, TraceReadsParametersByNameWithTheirTypes) {
  auto r = run({probekit_path(), "trace", "-c", target() + " 2",
                "p:a.out:eight a=$arg:a b=$arg:b c=$arg:c d=$arg:d e=$arg:e f=$arg:f g=$arg:g h=$arg:h",
                "p:a.out:process id=$arg:id name=$arg:name:string ratio=$arg:ratio",
                "p:a.out:mix f=$arg:f d=$arg:d n=$arg:n e=$arg:e bits=$arg:d:x64"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(kProgram), std::string::npos) << r.out;
  EXPECT_EQ(event_args(r.out),
            (std::vector<std::string>{
                "p_eight_0: (eight+0x0) a=-1 b=-2 c=-3 d=200 e=5 f=6 g=-7 h=8000000000",
                "p_process_0: (process+0x0) id=42 name=\"widget\" ratio=2.5",
                "p_mix_0: (mix+0x0) f=0.5 d=-1.25 n=0 e=1e+10 bits=0xbff4000000000000",
                "p_eight_0: (eight+0x0) a=-1 b=-2 c=-3 d=200 e=5 f=6 g=-7 h=8000000001",
                "p_process_0: (process+0x0) id=43 name=\"widget\" ratio=2.5",
                "p_mix_0: (mix+0x0) f=0.5 d=-1.25 n=1 e=1e+10 bits=0xbff4000000000000",
            }))
      << r.out;
}

TEST_P(ArgBuilds, TraceJsonHasNumbersForFloats) {
  auto r = run({probekit_path(), "trace", "-f", "json", "-c", target() + " 1",
                "p:a.out:mix f=$arg:f d=$arg:d name=%xmm1:f64"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.out, R"("f":0.5,"d":-1.25,"name":-1.25)"), 1u) << r.out;
}

TEST_P(ArgBuilds, UnknownParameterSuggestsTheClosest) {
  auto r = run({probekit_path(), "trace", "-c", target() + " 1", "p:a.out:process x=$arg:nme"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("function 'process' in '" + target() +
                       "' has no parameter 'nme'; did you mean 'name'? (its parameters: id, name, ratio)"),
            std::string::npos)
      << r.err;
}

// A float or double parameter is a floating args[N] (typed from DWARF when
// the program compiles), read from its SSE register: mix(float f, double
// d, int n, double e) has f in xmm0, d in xmm1, n in edi and e in xmm2.
TEST_P(ArgBuilds, DArgsAreTypedAndArgNStayRaw) {
  auto r = run({probekit_path(), "-q", "-c", target() + " 2", "-n",
                "pid$target:a.out:eight:entry { printf(\"%d %d %d %d %d %d %d %d | %d\\n\", args[0], args[1], "
                "args[2], args[3], args[4], args[5], args[6], args[7], arg0); }",
                "-n",
                "pid$target:a.out:process:entry { printf(\"%d %s %s %.1f\\n\", args[0], copyinstr(args[1]), "
                "stringof(args[1]), args[2]); }",
                "-n", "pid$target:a.out:mix:entry { printf(\"%f %g %d %g %x\\n\", args[0], args[1], args[2], args[3], "
                "uregs[R_XMM1]); }"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(without_program(r.out),
            "-1 -2 -3 200 5 6 -7 8000000000 | 4294967295\n"
            "42 widget widget 2.5\n"
            "0.500000 -1.25 0 1e+10 bff4000000000000\n"
            "-1 -2 -3 200 5 6 -7 8000000001 | 4294967295\n"
            "43 widget widget 2.5\n"
            "0.500000 -1.25 1 1e+10 bff4000000000000\n"
            "\n")  // the blank line when tracing stops
      << r.out;
}

TEST_P(ArgBuilds, DDoubleArgsAreNotComputedWith) {
  auto r = run({probekit_path(), "-q", "-c", target() + " 1", "-n",
                "pid$target:a.out:mix:entry { trace(args[1] + 1); }"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("[D_OP_ARITH]"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_P(ArgBuilds, ListVerboseShowsArgumentTypes) {
  auto r = run({probekit_path(), "-l", "-v", "-n", "pid$target:a.out:process:entry", "-n",
                "pid$target:a.out:mix:entry", "-c", target()});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string out = normalize(without_program(r.out), R"( +pid\d+)", " pidN");
  EXPECT_EQ(out,
            "   ID   PROVIDER            MODULE                          FUNCTION NAME\n"
            "    1 pidN             a.out                           process entry\n"
            "\n\tArgument Types\n"
            "\t\targs[0]: int id\n"
            "\t\targs[1]: const char * name\n"
            "\t\targs[2]: double ratio\n"
            "\n"
            "    2 pidN             a.out                               mix entry\n"
            "\n\tArgument Types\n"
            "\t\targs[0]: float f\n"
            "\t\targs[1]: double d\n"
            "\t\targs[2]: int n\n"
            "\t\targs[3]: double e\n"
            "\n")
      << r.out;
}

INSTANTIATE_TEST_SUITE_P(Builds, ArgBuilds, ::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"));

TEST(ArgsWithoutDebugInfo, ClearMessageAndArgNStillWorks) {
  std::string prog = target_path("pk_args_nodebug-pie-O2");
  auto named = run({probekit_path(), "trace", "-c", prog + " 1", "p:a.out:process id=$arg:id"});
  EXPECT_EQ(named.status, 2);
  EXPECT_NE(named.err.find("'" + prog + "' has no debug information, so parameter names are unavailable; "
                           "'$argN' (and registers) still work"),
            std::string::npos)
      << named.err;

  auto positional = run({probekit_path(), "trace", "-c", prog + " 1", "p:a.out:process id=$arg1:s32 name=+0($arg2):string"});
  ASSERT_EQ(positional.status, 0) << positional.err;
  EXPECT_EQ(event_args(positional.out),
            (std::vector<std::string>{"p_process_0: (process+0x0) id=42 name=\"widget\""}))
      << positional.out;

  // D: args[N] falls back to the 64-bit argN (an int -1 passed in edi reads as 4294967295).
  auto d = run({probekit_path(), "-q", "-c", prog + " 1", "-n",
                "pid$target:a.out:eight:entry { printf(\"%d %d\\n\", args[0], arg1); }"});
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(without_program(d.out), "4294967295 -2\n\n") << d.out;  // + the blank line when tracing stops

  auto list = run({probekit_path(), "-l", "-v", "-n", "pid$target:a.out:eight:entry", "-c", prog});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_NE(list.out.find("\n\tArgument Types\n\t\tunavailable (no debug information in '" + prog + "')\n"),
            std::string::npos)
      << list.out;
}
