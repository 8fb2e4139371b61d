// The D file corpus (tests/d), as DTrace's test suite runs its own:
//
//   tst.NAME.d   compiled and run against simulated firings; stdout (then
//                "-- stderr --" and stderr, then "-- exit N --" when exit()
//                gave a nonzero status) must equal tst.NAME.d.out.
//   err.ID.NAME.d  must fail to compile, with ID as the first diagnostic's
//                id; the rendered diagnostics must equal err.ID.NAME.d.out.
//
// Directives in comments at the top of a tst file say what to simulate:
//   fire: PROBE [arg0=N ... arg9=N] [tid=N] [pid=N] [cpu=N] [errno=N]
//         [retval=N] [pc=N] [comm=NAME] [repeat=N]
//   args: WORD...            macro arguments $1, $2, ...
//   flags: -q -w -x NAME=VALUE -f json
//   mem: ADDR "text"         a NUL-terminated string in the fake target
//   bytes: ADDR HEX          bytes in the fake target ("0a000001")
//   sym: ADDR SIZE NAME [MODULE]   a symbol for ufunc()/usym()/ustack()
//   stack: ADDR...           what the host's unwinder returns
//   argtypes: PROBE TYPE...  register PROBE with typed args[] (ProbeArg), each
//         TYPE one of s1 s2 s4 s8 u1 u2 u4 u8 (integers), ptr, str (char *),
//         f4 f8 (float, double); a firing's argN=V then also sets params[N];
//         the types also answer CompileOptions::probe_args (args[N] of f4/f8
//         is a float/double)
//   a firing's xmmN=BITS sets the low 64 bits of SSE register N (uregs[R_XMMn])
// BEGIN fires first and END last, as with dtrace(1); the target pid is 1234,
// the clock starts at 1s and advances 1000ns per firing, rand() is seeded
// with 42 — so outputs are exact without normalisation.
// PROBEKIT_UPDATE_CORPUS=1 rewrites the .out files (review the diff!).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "d/program.h"
#include "fake_hit.h"
#include "util/strings.h"

namespace probekit::d {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> corpus_files() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(PROBEKIT_D_CORPUS_DIR)) {
    std::string name = e.path().filename().string();
    if (ends_with(name, ".d") && (starts_with(name, "tst.") || starts_with(name, "err."))) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

ProbeArg probe_arg(const std::string& t) {
  ProbeArg a;
  a.c_type = t;
  if (t == "ptr") a.kind = ProbeArg::Kind::pointer;
  else if (t == "str") a.kind = ProbeArg::Kind::string;
  else if (t[0] == 'f') a.kind = ProbeArg::Kind::floating;
  if (a.kind != ProbeArg::Kind::pointer && a.kind != ProbeArg::Kind::string)
    a.size = static_cast<uint8_t>(t[1] - '0');
  a.is_signed = t[0] == 's';
  return a;
}

struct Fire {
  ProbeKey key;
  std::map<std::string, std::string> fields;
};

ProbeKey key_from_spec(std::string spec) {
  for (size_t p; (p = spec.find("$target")) != std::string::npos;) spec.replace(p, 7, "1234");
  auto parts = split(spec, ':');
  while (parts.size() < 4) parts.insert(parts.begin(), "");
  ProbeKey k{parts[0], parts[1], parts[2], parts[3]};
  if (k.provider.empty() && (starts_with(k.name, "tick-") || starts_with(k.name, "profile-"))) k.provider = "profile";
  if (k.provider.empty() && (k.name == "BEGIN" || k.name == "END" || k.name == "ERROR")) k.provider = "dtrace";
  return k;
}

uint64_t num(const std::string& s) {
  if (auto v = parse_int(s)) return static_cast<uint64_t>(*v);
  return parse_uint(s).value_or(0);
}

std::string run_tst(const std::string& name, const std::string& source) {
  CompileOptions opts;
  opts.target_pid = 1234;
  std::vector<Fire> fires;
  testing::FakeHit hit;
  testing::FakeHost host;
  std::map<std::string, std::vector<ProbeArg>> arg_types;  // by key.str()
  for (auto line : split(source, '\n')) {
    std::string_view l = trim(line);
    while (starts_with(l, "/*") || starts_with(l, "//") || starts_with(l, "*")) l = trim(l.substr(l[0] == '*' ? 1 : 2));
    if (ends_with(l, "*/")) l = trim(l.substr(0, l.size() - 2));
    auto colon = l.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key(l.substr(0, colon));
    std::string rest(trim(l.substr(colon + 1)));
    if (key == "fire") {
      auto words = split_ws(rest);
      Fire f;
      f.key = key_from_spec(words[0]);
      for (size_t i = 1; i < words.size(); ++i) {
        auto eq = words[i].find('=');
        f.fields[words[i].substr(0, eq)] = eq == std::string::npos ? "" : words[i].substr(eq + 1);
      }
      fires.push_back(f);
    } else if (key == "argtypes") {
      auto words = split_ws(rest);
      auto& types = arg_types[key_from_spec(words[0]).str()];
      for (size_t i = 1; i < words.size(); ++i) types.push_back(probe_arg(words[i]));
    } else if (key == "args") {
      opts.macro_args = split_ws(rest);
    } else if (key == "flags") {
      auto words = split_ws(rest);
      for (size_t i = 0; i < words.size(); ++i) {
        if (words[i] == "-q") opts.quiet = true;
        else if (words[i] == "-w") opts.destructive = true;
        else if (words[i] == "-f" && i + 1 < words.size()) opts.format = words[++i] == "json" ? OutputFormat::json : OutputFormat::text;
        else if (words[i] == "-x" && i + 1 < words.size()) {
          auto kv = words[++i];
          auto eq = kv.find('=');
          opts.options.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
        }
      }
    } else if (key == "mem") {
      auto sp = rest.find(' ');
      uint64_t addr = num(rest.substr(0, sp));
      std::string text(trim(rest.substr(sp + 1)));
      if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
      hit.memory[addr] = text + std::string(1, '\0');
    } else if (key == "bytes") {
      auto w = split_ws(rest);
      std::string bytes;
      for (size_t i = 0; i + 1 < w[1].size(); i += 2)
        bytes += static_cast<char>(std::stoi(w[1].substr(i, 2), nullptr, 16));
      hit.memory[num(w[0])] = bytes;
    } else if (key == "sym") {
      auto w = split_ws(rest);
      testing::FakeSymbol s{num(w[0]), num(w[1]), w[2], w.size() > 3 ? w[3] : "a.out"};
      hit.symbols.push_back(s);
    } else if (key == "stack") {
      for (const auto& w : split_ws(rest)) host.stack.push_back(num(w));
    }
  }
  hit.destructive = opts.destructive;
  // args[N] is typed at compile time from the argtypes of the probes a
  // description matches (the CLI answers from DWARF).
  opts.probe_args = [&](const ProbeDescription& d) -> std::optional<std::vector<ProbeArg>> {
    for (const auto& f : fires) {
      auto t = arg_types.find(f.key.str());
      if (t != arg_types.end() && d.matches(f.key)) return t->second;
    }
    return std::nullopt;
  };
  auto r = compile(source, name, opts);
  if (!r.ok()) return "-- compile failed --\n" + r.diagnostics.render();
  Program& prog = *r.program;
  StringSink sink;
  prog.set_output(&sink);
  prog.set_host(&host);
  std::vector<uint32_t> ids;
  for (const auto& f : fires) {
    auto t = arg_types.find(f.key.str());
    ids.push_back(prog.register_probe(f.key, t == arg_types.end() ? std::vector<ProbeArg>{} : t->second).id);
  }
  host.clock += 1000;
  prog.begin();
  for (size_t i = 0; i < fires.size() && !prog.exit_requested(); ++i) {
    const auto& f = fires[i];
    int repeat = f.fields.count("repeat") ? static_cast<int>(num(f.fields.at("repeat"))) : 1;
    for (int n = 0; n < repeat && !prog.exit_requested(); ++n) {
      host.clock += 1000;
      FireContext ctx;
      bool process = starts_with(f.key.provider, "pid") || f.key.provider == "syscall";
      if (process) {
        hit.ts_ = host.clock;
        hit.tid_ = f.fields.count("tid") ? static_cast<int>(num(f.fields.at("tid"))) : 1234;
        hit.pid_ = f.fields.count("pid") ? static_cast<int>(num(f.fields.at("pid"))) : 1234;
        hit.cpu_ = f.fields.count("cpu") ? static_cast<int>(num(f.fields.at("cpu"))) : 0;
        hit.comm_ = f.fields.count("comm") ? f.fields.at("comm") : "a.out";
        hit.regs_.rip = f.fields.count("pc") ? num(f.fields.at("pc")) : 0x401000;
        hit.regs_.rax = f.fields.count("rax") ? num(f.fields.at("rax")) : 0;
        ctx.hit = &hit;
      }
      for (int a = 0; a < 10; ++a) {
        std::string k = "arg" + std::to_string(a);
        if (f.fields.count(k)) ctx.args[a] = ctx.params[a] = num(f.fields.at(k));
      }
      for (int reg = 0; reg < 16; ++reg) {
        std::string k = "xmm" + std::to_string(reg);
        if (!f.fields.count(k)) continue;
        uint64_t bits = num(f.fields.at(k));
        hit.fp_.xmm_space[4 * reg] = static_cast<uint32_t>(bits);
        hit.fp_.xmm_space[4 * reg + 1] = static_cast<uint32_t>(bits >> 32);
      }
      if (f.fields.count("errno")) ctx.errno_value = static_cast<int>(num(f.fields.at("errno")));
      if (f.fields.count("retval")) ctx.retval = static_cast<int64_t>(num(f.fields.at("retval")));
      prog.fire(ids[i], ctx);
    }
  }
  host.clock += 1000;
  prog.end();
  std::string out = sink.out_text();
  if (!sink.err_text().empty()) out += "-- stderr --\n" + sink.err_text();
  if (!host.log.empty()) out += "-- host --\n" + join(host.log, "\n") + "\n";
  for (const auto& [addr, bytes] : hit.writes) out += "-- write " + hex(addr) + " " + std::to_string(bytes.size()) + " bytes --\n";
  if (prog.exit_status() != 0) out += "-- exit " + std::to_string(prog.exit_status()) + " --\n";
  return out;
}

class Corpus : public ::testing::TestWithParam<std::string> {};

TEST_P(Corpus, Matches) {
  const std::string name = GetParam();
  fs::path dir(PROBEKIT_D_CORPUS_DIR);
  std::string source = slurp(dir / name);
  std::string actual;
  if (starts_with(name, "err.")) {
    std::string id = name.substr(4, name.find('.', 4) - 4);
    CompileOptions opts;
    opts.target_pid = 1234;
    // argtypes: type args[N] here too.
    std::vector<std::pair<ProbeKey, std::vector<ProbeArg>>> typed;
    for (auto line : split(source, '\n')) {
      auto at = line.find("argtypes:");
      if (at == std::string::npos) continue;
      std::string rest(line.substr(at + 9));
      if (auto end = rest.find("*/"); end != std::string::npos) rest.resize(end);
      auto words = split_ws(rest);
      if (words.empty()) continue;
      typed.emplace_back(key_from_spec(words[0]), std::vector<ProbeArg>{});
      for (size_t i = 1; i < words.size(); ++i) typed.back().second.push_back(probe_arg(words[i]));
    }
    opts.probe_args = [&](const ProbeDescription& d) -> std::optional<std::vector<ProbeArg>> {
      for (const auto& [key, types] : typed)
        if (d.matches(key)) return types;
      return std::nullopt;
    };
    auto r = compile(source, name, opts);
    ASSERT_FALSE(r.ok()) << name << " compiled but must fail with " << id;
    ASSERT_FALSE(r.diagnostics.all().empty());
    EXPECT_EQ(r.diagnostics.all()[0].id, id) << r.diagnostics.render();
    actual = r.diagnostics.render();
  } else {
    actual = run_tst(name, source);
  }
  fs::path expected_path = dir / (name + ".out");
  if (std::getenv("PROBEKIT_UPDATE_CORPUS")) {
    std::ofstream(expected_path, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(expected_path)) << "missing " << expected_path << "; actual output:\n" << actual;
  EXPECT_EQ(slurp(expected_path), actual) << name;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(D, Corpus, ::testing::ValuesIn(corpus_files()), test_name);

TEST(CorpusSize, AtLeastOneHundredFiles) { EXPECT_GE(corpus_files().size(), 100u); }

}  // namespace
}  // namespace probekit::d
