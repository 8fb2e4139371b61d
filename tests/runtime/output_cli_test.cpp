// End-to-end: what probekit's output looks like to the tools people read it
// with — folded stacks for flame graphs, Chrome trace timelines, the
// OpenMetrics endpoint, the manual page, completions and terminal feedback.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#if __has_include(<nlohmann/json.hpp>)
#include <nlohmann/json.hpp>
#define PK_HAVE_NLOHMANN_JSON 1
#endif
#include <httplib.h>

#include "harness.h"

using namespace probekit::testing;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A folded line "f1;f2;...;fn COUNT" split into frames (the module prefix
// "NAME`" dropped, so the chains read the same for every build of the
// target) and its count.
struct Folded {
  std::vector<std::string> frames;
  long count = 0;
};
std::vector<Folded> parse_folded(const std::string& text) {
  std::vector<Folded> out;
  for (const auto& line : lines_of(text)) {
    auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    Folded f;
    f.count = std::stol(line.substr(space + 1));
    std::string frames = line.substr(0, space);
    std::istringstream in(frames);
    for (std::string fr; std::getline(in, fr, ';');) {
      auto tick = fr.find('`');
      f.frames.push_back(tick == std::string::npos ? fr : fr.substr(tick + 1));
    }
    out.push_back(std::move(f));
  }
  return out;
}

// The frames from main on ("main;middle;leaf_a"), "" when main is not in it.
std::string from_main(const Folded& f) {
  auto it = std::find(f.frames.begin(), f.frames.end(), "main");
  if (it == f.frames.end()) return "";
  std::string out;
  for (; it != f.frames.end(); ++it) out += (out.empty() ? "" : ";") + *it;
  return out;
}

class FlameBuilds : public ::testing::TestWithParam<const char*> {};

// pk_flame's leaf_b is called from via(), inlined into middle(): the entry
// probe's stacks are exactly main;middle;via_[i];leaf_b, once per round.
TEST_P(FlameBuilds, EntryProbeStacksAreTheKnownCallChainWithItsInlinedFrame) {
  const std::string target = target_path(std::string("pk_flame-") + GetParam());
  const std::string file = output_file(std::string("pk_flame_entry_") + GetParam() + ".folded");  // one per build: ctest -j runs them at once
  auto plain = run({target, "6", "10"});
  auto r = run({probekit_path(), "-q", "-f", "folded", "-o", file, "-n",
                "pid$target:a.out:leaf_b:entry { @[ustack()] = count(); }", "-c", target + " 6 10"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, plain.out);  // the program's output, byte for byte
  auto folded = parse_folded(read_file(file));
  ASSERT_EQ(folded.size(), 1u) << read_file(file);
  EXPECT_EQ(from_main(folded[0]), "main;middle;via_[i];leaf_b") << read_file(file);
  EXPECT_EQ(folded[0].count, 6);
}

// Sampled: every stack through main is a prefix of one of the program's
// call chains, and the loop inlined into leaf_a (where the time goes) has
// most of the samples. -x aggfmt=folded is the same output as -f folded.
TEST_P(FlameBuilds, ProfileSamplesFollowTheCallChains) {
  const std::string target = target_path(std::string("pk_flame-") + GetParam());
  auto r = run({probekit_path(), "-q", "-x", "aggfmt=folded", "-n", "profile-499 { @[ustack()] = count(); }",
                "-c", target + " 20 8000000"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::set<std::string> chains = {"main", "main;middle", "main;middle;leaf_a", "main;middle;leaf_a;mix_[i]",
                                        "main;middle;via_[i]", "main;middle;via_[i];leaf_b"};
  long in_main = 0, in_mix = 0;
  for (const auto& f : parse_folded(r.out.substr(r.out.find('\n') + 1))) {  // after the checksum line
    auto main_at = std::find(f.frames.begin(), f.frames.end(), "main");
    if (main_at == f.frames.end()) continue;                           // start-up, before main
    if (main_at + 1 != f.frames.end() && main_at[1] != "middle") continue;  // main calling libc (printf)
    std::string chain = from_main(f);
    EXPECT_TRUE(chains.count(chain)) << chain << "\n" << r.out;
    in_main += f.count;
    if (chain == "main;middle;leaf_a;mix_[i]") in_mix += f.count;
  }
  EXPECT_GT(in_main, 0) << r.out;
  EXPECT_GT(in_mix * 2, in_main) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Targets, FlameBuilds, ::testing::Values("pie-O0", "pie-O2", "nopie-O0", "nopie-O2"));

#ifdef PK_HAVE_NLOHMANN_JSON
// -f chrome: every entry/return pair is a complete event on the thread,
// each leaf inside its middle() and the middles one after the other.
TEST(ChromeCli, CallsNestAsTheyWereMade) {
  const std::string target = target_path("pk_flame-pie-O2");
  const std::string file = output_file("pk_flame_chrome.json");
  auto plain = run({target, "4", "1000"});
  auto r = run({probekit_path(), "-q", "-f", "chrome", "-o", file, "-n",
                "pid$target:a.out:middle:entry, pid$target:a.out:middle:return, pid$target:a.out:leaf_*:entry,"
                " pid$target:a.out:leaf_*:return { @[probefunc] = count(); }",
                "-c", target + " 4 1000"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, plain.out);
  nlohmann::json doc = nlohmann::json::parse(read_file(file));  // throws (fails the test) if it is not JSON
  std::map<std::string, std::vector<nlohmann::json>> calls;
  int threads = 0;
  for (const auto& ev : doc.at("traceEvents")) {
    if (ev.at("ph") == "M") {
      ++threads;
      EXPECT_EQ(ev.at("name"), "thread_name");
      continue;
    }
    ASSERT_EQ(ev.at("ph"), "X") << ev.dump();
    EXPECT_FALSE(ev.contains("args")) << ev.dump();  // every call returned
    calls[ev.at("name").get<std::string>()].push_back(ev);
  }
  EXPECT_EQ(threads, 1);
  ASSERT_EQ(calls["middle"].size(), 4u);
  ASSERT_EQ(calls["leaf_a"].size(), 4u);
  ASSERT_EQ(calls["leaf_b"].size(), 4u);
  auto start = [](const nlohmann::json& e) { return e.at("ts").get<double>(); };
  auto end = [&](const nlohmann::json& e) { return start(e) + e.at("dur").get<double>(); };
  auto by_start = [&](const nlohmann::json& a, const nlohmann::json& b) { return start(a) < start(b); };
  for (auto& [name, list] : calls) std::sort(list.begin(), list.end(), by_start);
  for (size_t i = 0; i < 4; ++i) {
    const auto& m = calls["middle"][i];
    for (const char* leaf : {"leaf_a", "leaf_b"}) {
      const auto& l = calls[leaf][i];
      EXPECT_EQ(l.at("tid"), m.at("tid"));
      EXPECT_LE(start(m), start(l)) << leaf << " " << i;
      EXPECT_LE(end(l), end(m)) << leaf << " " << i;
    }
    EXPECT_LE(end(calls["leaf_a"][i]), start(calls["leaf_b"][i]));
    if (i > 0) {
      EXPECT_LE(end(calls["middle"][i - 1]), start(m));
    }
  }
  EXPECT_NE(r.err.find("leaf_a"), std::string::npos) << r.err;  // the aggregation went to stderr
}

// Kernel tracepoints: each event an instant event with the record's fields.
TEST(ChromeCli, TracepointEventsAreInstantsWithTheirFields) {
  if (geteuid() != 0) GTEST_SKIP() << "kernel tracepoints need root or CAP_PERFMON";
  const std::string file = output_file("pk_tracepoint_chrome.json");
  auto r = run({probekit_path(), "-f", "chrome", "-o", file, "-n",
                "tracepoint:syscalls:sys_enter_getppid /pid == $target/ { @ = count(); }", "-c",
                target_path("pk_syscalls-pie-O2") + " count"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"(pid (\d+) exited with status 0)"))) << r.err;
  const int pid = std::stoi(m[1]);
  nlohmann::json doc = nlohmann::json::parse(read_file(file));
  int calls = 0;
  for (const auto& ev : doc.at("traceEvents")) {
    if (ev.at("ph") != "i" || ev.at("pid") != pid) continue;  // system-wide: other processes' calls too
    EXPECT_EQ(ev.at("name"), "syscalls:sys_enter_getppid");
    EXPECT_EQ(ev.at("cat"), "tracepoint");
    EXPECT_EQ(ev.at("args").at("__syscall_nr"), 110);  // getppid on x86-64
    ++calls;
  }
  EXPECT_EQ(calls, 7);  // pk_syscalls count: getppid x7
}

TEST(ChromeCli, TraceEventsAreInstantsWithTheirFields) {
  const std::string file = output_file("pk_trace_chrome.json");
  auto r = run({probekit_path(), "trace", "-f", "chrome", "-o", file, "-c",
                target_path("pk_flame-nopie-O0") + " 3 7", "p:a.out:leaf_a x=%di:u64 spin=%si:s64"});
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json doc = nlohmann::json::parse(read_file(file));
  int instants = 0;
  for (const auto& ev : doc.at("traceEvents")) {
    if (ev.at("ph") == "M") continue;
    EXPECT_EQ(ev.at("ph"), "i");
    EXPECT_EQ(ev.at("args").at("spin"), 7);
    EXPECT_EQ(ev.at("args").at("site"), "leaf_a+0x0");
    ++instants;
  }
  EXPECT_EQ(instants, 3);
}
#else
TEST(ChromeCli, CallsNestAsTheyWereMade) { GTEST_SKIP() << "nlohmann-json3-dev is not installed"; }
#endif

TEST(ChromeCli, CountTableHasNoTimeline) {
  auto r = run({probekit_path(), "trace", "-C", "-f", "chrome", "-c", target_path("pk_flame-pie-O2") + " 1 1",
                "p:a.out:leaf_a"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("probekit: trace: error: -C prints a table of counts"), std::string::npos) << r.err;
}

// --- metrics ---------------------------------------------------------------------

// An OpenMetrics text parser, strict enough to catch what a scraper would
// refuse: every sample belongs to the family its TYPE line opened, with
// the suffixes that type allows, well-formed labels, a number, and the
// text ends with "# EOF".
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
struct Exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::vector<Sample> samples;
};
Exposition parse_openmetrics(const std::string& text, std::string* problem) {
  Exposition e;
  std::string family, type;
  auto lines = lines_of(text);
  if (lines.empty() || lines.back() != "# EOF") *problem = "no # EOF at the end";
  for (size_t n = 0; n + 1 < lines.size(); ++n) {
    const std::string& line = lines[n];
    std::smatch m;
    if (std::regex_match(line, m, std::regex(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))"))) {
      family = m[1];
      type = m[2];
      if (e.types.count(family)) *problem = "family declared twice: " + family;
      e.types[family] = type;
      continue;
    }
    if (std::regex_match(line, std::regex(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)"))) continue;
    if (!std::regex_match(line, m, std::regex(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9]+(\.[0-9]+)?))"))) {
      *problem = "not a sample: " + line;
      continue;
    }
    Sample s;
    s.name = m[1];
    s.value = std::stod(m[4]);
    std::string labels = m[3];
    std::regex label(R"(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)\"(,|$))");
    for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label); it != std::sregex_iterator(); ++it)
      s.labels[(*it)[1]] = (*it)[2];
    std::set<std::string> allowed;
    if (type == "counter") allowed = {family + "_total"};
    if (type == "gauge") allowed = {family};
    if (type == "histogram") allowed = {family + "_bucket", family + "_count", family + "_sum"};
    if (!allowed.count(s.name)) *problem = "sample " + s.name + " outside its family " + family;
    if (type == "histogram" && s.name == family + "_bucket" && !s.labels.count("le"))
      *problem = "bucket without le: " + line;
    e.samples.push_back(std::move(s));
  }
  return e;
}

double sample(const Exposition& e, const std::string& name, const std::map<std::string, std::string>& labels) {
  for (const auto& s : e.samples)
    if (s.name == name && s.labels == labels) return s.value;
  return -1;
}

TEST(MetricsCli, ServesTheAggregationsUntilCtrlC) {
  const std::string err = ::testing::TempDir() + "/pk_metrics_err.txt";
  const std::string out = ::testing::TempDir() + "/pk_metrics_out.txt";
  (void)unlink(err.c_str());
  pid_t tracer = spawn({"/bin/sh", "-c",
                        "exec '" + probekit_path() + "' -x metrics=127.0.0.1:0 -n "
                        "'pid$target:a.out:leaf_b:entry { @calls[probefunc] = count(); } "
                        "pid$target:a.out:leaf_a:entry { @spin = quantize(arg1); }' -c '" +
                            target_path("pk_flame-pie-O2") + " 7 10' 2>" + err},
                       out);
  // The port probekit picked, from its note.
  std::smatch m;
  std::string text;
  for (int i = 0; i < 600 && !std::regex_search(text, m, std::regex(R"(http://127\.0\.0\.1:(\d+)/metrics)")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    text = read_file(err);
  }
  ASSERT_TRUE(m.size() > 1) << text;
  httplib::Client client("127.0.0.1", std::stoi(m[1]));
  client.set_read_timeout(5, 0);
  // The program ends after 7 rounds; probekit keeps serving the final values.
  Exposition e;
  std::string body, problem;
  for (int i = 0; i < 600; ++i) {
    auto res = client.Get("/metrics", {{"Accept", "application/openmetrics-text; version=1.0.0"}});
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    ASSERT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    body = res->body;
    problem.clear();
    e = parse_openmetrics(body, &problem);
    if (sample(e, "probekit_calls_total", {{"key0", "leaf_b"}}) == 7) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(problem, "") << body;
  EXPECT_EQ(e.types["probekit_calls"], "counter") << body;
  EXPECT_EQ(e.types["probekit_spin"], "histogram") << body;
  EXPECT_EQ(sample(e, "probekit_calls_total", {{"key0", "leaf_b"}}), 7) << body;
  // quantize(10): the bucket [8, 15].
  EXPECT_EQ(sample(e, "probekit_spin_bucket", {{"le", "15"}}), 7) << body;
  EXPECT_EQ(sample(e, "probekit_spin_bucket", {{"le", "+Inf"}}), 7) << body;
  EXPECT_EQ(sample(e, "probekit_spin_count", {}), 7) << body;
  // Without an OpenMetrics Accept header: the Prometheus text format.
  auto plain = client.Get("/metrics");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(alive(tracer));  // still serving after the program exited
  kill(tracer, SIGINT);
  EXPECT_EQ(wait_exit(tracer, 30), 0) << read_file(err);
  EXPECT_NE(read_file(err).find("exited with status 0"), std::string::npos) << read_file(err);
}

TEST(MetricsCli, ABadAddressIsAnError) {
  auto r = run({probekit_path(), "-x", "metrics=nowhere", "-n", "BEGIN { exit(0); }"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("probekit: -x metrics: error: 'nowhere' is not an address to listen on; use HOST:PORT"),
            std::string::npos)
      << r.err;
}

TEST(MetricsCli, APortInUseIsAnError) {
  // Listening with httplib's defaults, SO_REUSEPORT included: a probekit
  // that set it too would share the port instead of reporting it taken.
  httplib::Server other;
  int port = other.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  auto r = run({probekit_path(), "-x", "metrics=127.0.0.1:" + std::to_string(port), "-n", "BEGIN { exit(0); }"},
               20);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("probekit: -x metrics: error: cannot listen on '127.0.0.1:" + std::to_string(port) +
                       "': the port is in use"),
            std::string::npos)
      << r.err;
}

// --- help ------------------------------------------------------------------------

TEST(HelpCli, VersionOfBothFrontEnds) {
  for (std::vector<std::string> argv : {std::vector<std::string>{probekit_path(), "--version"},
                                        std::vector<std::string>{probekit_path(), "trace", "--version"}}) {
    auto r = run(argv);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "probekit " PROBEKIT_VERSION "\n");
  }
}

// Every option `-h` lists for either front end is in the manual page.
TEST(HelpCli, ManualPageHasEveryOption) {
  const std::string man = read_file(PROBEKIT_SOURCE_DIR "/docs/probekit.1");
  ASSERT_FALSE(man.empty());
  for (std::vector<std::string> argv : {std::vector<std::string>{probekit_path(), "-h"},
                                        std::vector<std::string>{probekit_path(), "trace", "-h"}}) {
    auto r = run(argv);
    ASSERT_EQ(r.status, 0) << r.err;
    std::regex opt(R"((^|[\s,])(--?[A-Za-z][-A-Za-z]*))");
    size_t found = 0;
    for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), opt); it != std::sregex_iterator(); ++it) {
      std::string o = (*it)[2];
      std::string roff;
      for (char c : o) roff += c == '-' ? std::string("\\-") : std::string(1, c);
      EXPECT_NE(man.find("\\fB" + roff), std::string::npos) << o << " is not in docs/probekit.1";
      ++found;
    }
    EXPECT_GT(found, 10u) << r.out;
  }
  for (const char* section : {".SH EXIT STATUS", ".SH EXAMPLES", ".SH PROBEKIT TRACE"})
    EXPECT_NE(man.find(section), std::string::npos) << section;
}

TEST(HelpCli, InstallPutsTheManualAndCompletionsBesideTheBinary) {
  const std::string prefix = ::testing::TempDir() + "/pk_install";
  auto r = run({PROBEKIT_CMAKE, "--install", PROBEKIT_BUILD_DIR, "--prefix", prefix});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  struct stat st {};
  for (const char* f : {"/bin/probekit", "/share/man/man1/probekit.1",
                        "/share/bash-completion/completions/probekit", "/share/zsh/vendor-completions/_probekit"})
    EXPECT_EQ(stat((prefix + f).c_str(), &st), 0) << f;
  auto v = run({prefix + "/bin/probekit", "--version"});
  EXPECT_EQ(v.out, "probekit " PROBEKIT_VERSION "\n");
}

// bash completes a running process's modules, functions and probe names
// from `probekit -l`, with bash's own split of the word at ':'.
TEST(HelpCli, BashCompletesProbeDescriptionsOfARunningProcess) {
  pid_t pid = spawn({target_path("pk_spin-pie-O2")}, ::testing::TempDir() + "/pk_complete_spin.txt");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string p = std::to_string(pid);
  auto complete = [&](const std::string& words, int cword) {
    std::string script = "source '" PROBEKIT_SOURCE_DIR "/scripts/completion/probekit.bash'; PROBEKIT='" +
                         probekit_path() + "'; COMP_WORDS=(" + words + "); COMP_CWORD=" + std::to_string(cword) +
                         "; _probekit; printf '%s\\n' \"${COMPREPLY[@]}\"";
    return run({"/bin/bash", "-c", script}).out;
  };
  std::string modules = complete("probekit -n pid" + p + " :", 3);
  EXPECT_NE(modules.find("a.out:\n"), std::string::npos) << modules;
  EXPECT_NE(modules.find("libc.so.6:\n"), std::string::npos) << modules;
  std::string functions = complete("probekit -n pid" + p + " : a.out : wo", 6);
  EXPECT_EQ(functions, "work:\n");
  std::string names = complete("probekit -n pid" + p + " : a.out : work :", 7);
  EXPECT_EQ(names, "entry\nreturn\n");
  std::string target = complete("probekit -p " + p + " -n 'pid$target' : a.out : wo", 8);
  EXPECT_EQ(target, "work:\n");
  std::string opts = complete("probekit trace --hands", 2);
  EXPECT_EQ(opts, "--hands-off\n");
  kill(pid, SIGKILL);
  wait_exit(pid, 10);
}

// zsh: the same candidates from _probekit_descriptions (compadd, which
// would filter and show them, prints them here).
TEST(HelpCli, ZshCompletesProbeDescriptionsOfARunningProcess) {
  std::string zsh = access("/usr/bin/zsh", X_OK) == 0 ? "/usr/bin/zsh" : access("/bin/zsh", X_OK) == 0 ? "/bin/zsh" : "";
  if (zsh.empty()) GTEST_SKIP() << "zsh is not installed";
  pid_t pid = spawn({target_path("pk_spin-pie-O2")}, ::testing::TempDir() + "/pk_complete_zsh_spin.txt");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string p = std::to_string(pid);
  auto complete = [&](const std::string& prefix) {
    std::string script = "_arguments() { :; }; compadd() { while [[ $1 != -- ]]; do shift; done; shift; "
                         "print -l -- \"$@\"; }; source '" PROBEKIT_SOURCE_DIR "/scripts/completion/_probekit'; "
                         "PROBEKIT='" + probekit_path() + "'; PREFIX='" + prefix + "'; _probekit_descriptions";
    return run({zsh, "-f", "-c", script}).out;
  };
  EXPECT_NE(complete("pid" + p + ":").find("pid" + p + ":a.out:\n"), std::string::npos);
  EXPECT_NE(complete("pid" + p + ":a.out:wo").find("pid" + p + ":a.out:work:\n"), std::string::npos);
  EXPECT_EQ(complete("pid" + p + ":a.out:work:"), "pid" + p + ":a.out:work:entry\npid" + p + ":a.out:work:return\n");
  kill(pid, SIGKILL);
  wait_exit(pid, 10);
}

// --- progress --------------------------------------------------------------------

const char* const kAllLibc = "pid$target:libc.so.6::entry { @ = count(); }";

TEST(ProgressCli, APipeGetsNoProgress) {
  auto r = run({probekit_path(), "-x", "progress=0", "-n", kAllLibc, "-c", target_path("pk_flame-pie-O2") + " 1 1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(matched \d{3,} probes)"))) << r.err;
  EXPECT_EQ(r.err.find("armed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
}

// On a terminal (a pty): "matched N probes, armed K/N" rewritten in place,
// up to N/N, then erased; with -q nothing.
TEST(ProgressCli, ATerminalSeesArmedCounts) {
  for (bool quiet : {false, true}) {
    int master = -1;
    pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::string pb = probekit_path(), cmd = target_path("pk_flame-pie-O2") + " 1 1";
      std::vector<const char*> argv = {pb.c_str(), "-x", "progress=0", "-n", kAllLibc, "-c", cmd.c_str()};
      if (quiet) argv.insert(argv.begin() + 1, "-q");
      argv.push_back(nullptr);
      execv(argv[0], const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    std::string text;
    char buf[4096];
    for (;;) {
      pollfd pfd{master, POLLIN, 0};
      if (poll(&pfd, 1, 60000) <= 0) break;
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO once the child has exited
      text.append(buf, static_cast<size_t>(n));
    }
    close(master);
    EXPECT_EQ(wait_exit(pid, 30), 0) << text;
    std::smatch m;
    if (quiet) {
      EXPECT_EQ(text.find("armed"), std::string::npos) << text;
      continue;
    }
    ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(matched (\d+) probes, armed (\d+)/(\d+))"))) << text;
    EXPECT_EQ(m[1], m[3]);
    EXPECT_TRUE(std::regex_search(text, std::regex(R"(armed (\d+)/\1\r\x1b\[K)"))) << text;
  }
}

}  // namespace
