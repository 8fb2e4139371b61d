// cli/d_command.cpp — D programs over the engine.
//
// The one idea: the D program never sees the engine. This file turns each
// clause's probe descriptions into concrete probes the target has (pid
// provider: the modules and functions the engine lists; dtrace:::BEGIN/END/
// ERROR; profile:::tick-N), registers each with the program (which matches
// its globs), arms one engine Probe per pid probe whose pre-handler fills a
// d::FireContext and calls Program::fire, and drives ticks by running the
// engine in slices between them.
#include "cli/d_command.h"

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "cli/d_probes.h"
#include "cli/debug_args.h"
#include "cli/kernel_probes.h"
#include "cli/preprocess.h"
#include "cli/report.h"
#include "cli/target.h"
#include "d/passes.h"
#include "d/program.h"
#include "dwarf/call_frames.h"
#include "dwarf/debug_info.h"
#include "output/metrics_server.h"
#include "output/writer.h"
#include "syscall/syscall_table.h"
#include "util/fd.h"
#include "util/strings.h"

namespace probekit::cli {

namespace {

struct DOptions {
  TargetOptions target;
  bool quiet = false;
  bool destructive = false;
  bool zero_ok = false;
  bool elf_object = false;  // -G: refused (probekit does not link D programs into objects)
  bool flow = false;
  bool verbose = false;
  bool list = false;
  std::string format = "text";
  std::string output;
  std::optional<double> duration;  // -d
  std::vector<std::string> xopts;  // -x OPT[=VAL] and -b SIZE (bufsize=SIZE), in command-line order
  std::vector<std::string> programs;  // -n
  std::vector<std::string> files;     // -s
  std::vector<std::string> args;      // $1..$9
  bool cpp = false;                   // -C: through the C preprocessor
  PreprocessOptions cpp_options;      // -D, -U, -I
  bool compile_only = false;          // -e: compile, then exit
  bool version = false;               // -V: the D version, then exit
  std::vector<std::string> libdirs;   // -L DIR: every DIR/*.d before the program
};

// Destructive actions and per-target facts for the D program.
class EngineHost : public d::Host {
public:
  explicit EngineHost(Session* session) : session_(session) {}
  Status stop(d::FireContext& ctx) override {
    int pid = ctx.hit ? ctx.hit->pid() : (session_ ? session_->pid() : 0);
    if (pid <= 0) return Error("stop(): no target process", ErrorKind::usage);
    if (::kill(pid, SIGSTOP) != 0) return Error::from_errno("stop()", errno);
    return {};
  }
  Status raise(d::FireContext& ctx, int sig) override {
    if (!ctx.hit) return Error("raise(): no thread fired this probe", ErrorKind::usage);
    if (::syscall(SYS_tgkill, ctx.hit->pid(), ctx.hit->tid(), sig) != 0)
      return Error::from_errno("raise()", errno);
    return {};
  }
  Status system(const std::string& command) override {
    std::fflush(stdout);
    int rc = std::system(command.c_str());
    if (rc == -1) return Error::from_errno("system()", errno);
    return {};
  }
  Status override_return(d::FireContext& ctx, int64_t value) override {
    if (!ctx.hit) return Error("override(): no function fired this probe", ErrorKind::usage);
    // Once per function: does faking its return follow its calling convention?
    const SiteInfo& site = ctx.hit->site();
    std::string key = site.module_path + ":" + site.raw_symbol;
    auto checked = override_checked_.find(key);
    if (checked == override_checked_.end())
      checked = override_checked_.emplace(key, check_override(debug_, site.module_path, site.raw_symbol)).first;
    if (!checked->second) return checked->second;
    return ctx.hit->override_return(static_cast<uint64_t>(value));
  }

  // The frame-pointer walk, with the one frame it misses: the innermost
  // function's caller when rbp is not (yet, or any more) that function's
  // frame — at an entry probe, in a prologue or epilogue, in a function
  // without a frame. The object's call frame information says where the
  // return address is (dwarf/call_frames.h).
  std::vector<uint64_t> user_stack(const HitContext& hit, int max_frames) override {
    std::vector<uint64_t> pcs = d::Host::user_stack(hit, max_frames);
    // A full walk (ustack(2), ucaller) may still lack the caller: correct
    // it all the same, then keep max_frames.
    if (pcs.empty()) return pcs;
    const auto& regs = hit.regs();
    auto module = module_at(hit, regs.rip);
    if (!module) return pcs;
    auto frames = call_frames_.find(module->path);
    if (frames == call_frames_.end()) {
      auto opened = dwarf::CallFrames::open(module->path);
      frames = call_frames_.emplace(module->path, opened ? std::move(*opened) : nullptr).first;
    }
    if (!frames->second) return pcs;
    auto rule = frames->second->cfa_at(regs.rip - module->base);
    if (!rule || (rule->reg != 6 && rule->reg != 7)) return pcs;  // DWARF 6 rbp, 7 rsp
    const uint64_t cfa = (rule->reg == 6 ? regs.rbp : regs.rsp) + static_cast<uint64_t>(rule->offset);
    auto ret = hit.read_value<uint64_t>(cfa - 8);
    if (!ret || *ret == 0 || (pcs.size() > 1 && pcs[1] == *ret)) return pcs;
    pcs.insert(pcs.begin() + 1, *ret);
    if (static_cast<int>(pcs.size()) > max_frames) pcs.pop_back();
    return pcs;
  }

  // The modules mapped now, kept by name: the agent's ustack() frames are
  // named when the program prints (inline_frames_at), maybe after the
  // process has exited, when the session no longer lists its modules.
  void remember_modules() {
    if (!session_) return;
    for (const auto& info : session_->modules()) modules_[info.name] = info;
  }

  // DWARF's inlined subroutines at pc, for ustack()'s inline frames.
  std::vector<std::string> inline_frames(const HitContext& hit, uint64_t pc) override {
    return inline_frames_at(hit.symbolize(pc, true), pc);
  }
  // The same for a frame the agent walked (symbolized by Session::agent_symbolize).
  std::vector<std::string> inline_frames_at(const std::string& symbolized, uint64_t pc) override {
    auto module = module_named(symbolized);
    if (!module) return {};
    auto info = debug_.debug_info(module->path);
    if (!info) return {};
    std::vector<std::string> out;
    for (auto& name : (*info)->inline_frames(pc - module->base)) out.push_back(module->name + "`" + name);
    return out;
  }

private:
  // The module pc is in, by the name the symbolizer gives it.
  const ModuleInfo* module_at(const HitContext& hit, uint64_t pc) { return module_named(hit.symbolize(pc, true)); }
  // The module a symbolized address ("module:func+0x10") is in.
  const ModuleInfo* module_named(const std::string& where) {
    if (!session_) return nullptr;
    auto colon = where.find(':');
    if (colon == std::string::npos || where.rfind("0x", 0) == 0) return nullptr;
    std::string module = where.substr(0, colon);
    auto m = modules_.find(module);
    if (m == modules_.end()) {  // a library loaded since: list them again
      for (const auto& info : session_->modules()) modules_[info.name] = info;
      m = modules_.find(module);
      if (m == modules_.end()) return nullptr;
    }
    return &m->second;
  }


  Session* session_;
  DebugArgs debug_;
  std::map<std::string, Status> override_checked_;
  std::map<std::string, ModuleInfo> modules_;  // by file name
  std::map<std::string, std::unique_ptr<dwarf::CallFrames>> call_frames_;  // by path; null: none
};

// The program's output through output::Writer, as `probekit trace` writes:
// stdout or -o FILE, whole lines as they are produced (a write per line
// costs far less than the ptrace stop that produced it).
class WriterSink : public d::OutputSink {
public:
  // to_stderr: -f chrome, whose file holds the timeline only.
  WriterSink(output::Writer& writer, bool to_stderr) : writer_(writer), to_stderr_(to_stderr) {}
  void out(std::string_view text) override {
    if (reopened_) std::fwrite(text.data(), 1, text.size(), reopened_.get());
    else if (to_stderr_) std::fwrite(text.data(), 1, text.size(), stderr);
    else (void)writer_.write(text);
  }
  void err(std::string_view text) override {
    flush();
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush() override {
    (void)writer_.flush();
    if (reopened_) std::fflush(reopened_.get());
  }
  // freopen("FILE"): appended to, as dtrace(1) opens it; freopen("") goes
  // back to stdout or -o FILE.
  Status reopen(const std::string& path) override {
    flush();
    reopened_.reset();
    if (path.empty()) return {};
    std::FILE* f = std::fopen(path.c_str(), "ae");
    if (!f) return Error("freopen(): cannot open '" + path + "'", ErrorKind::generic, errno);
    reopened_.reset(f);
    return {};
  }
  // ftruncate() empties where output goes now, as dtrace(1) does: a file
  // freopen() opened (appended to, so output continues at its start), or
  // stdout / -o FILE when it is a regular file (Writer::truncate); a
  // terminal or a pipe is left as it is. Under -f chrome the file holds the
  // timeline, never truncated.
  Status truncate() override {
    flush();
    if (reopened_) {
      if (::ftruncate(fileno(reopened_.get()), 0) != 0)
        return Error("ftruncate(): cannot truncate the output file", ErrorKind::generic, errno);
      return {};
    }
    if (to_stderr_) return {};
    if (auto st = writer_.truncate(); !st) return Error("ftruncate(): " + st.error().message(), ErrorKind::io);
    return {};
  }

private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  output::Writer& writer_;
  bool to_stderr_;
  std::unique_ptr<std::FILE, FileCloser> reopened_;
};

// `struct foo` that the program does not declare: the target's own type,
// from the DWARF of its executable first, then of its libraries once they
// are loaded (DTrace reads the same from CTF).
class TargetTypes {
public:
  void set_paths(std::vector<std::string> paths) { paths_ = std::move(paths); }
  // A key scoped to a module (DTrace's `struct a.out`foo`, `libc.so.6`T`)
  // is looked up in that module only: a.out is the executable, another
  // name a loaded object whose file name starts with it.
  std::optional<d::TargetAggregate> find(const std::string& scoped) {
    std::string key = scoped, module;
    if (auto tick = key.find('`'); tick != std::string::npos) {
      const size_t space = key.rfind(' ', tick);
      const size_t from = space == std::string::npos ? 0 : space + 1;
      module = key.substr(from, tick - from);
      key.erase(from, tick - from + 1);
    }
    for (size_t i = 0; i < paths_.size(); ++i) {
      const std::string& path = paths_[i];
      if (!module.empty() &&
          !(module == "a.out" ? i == 0 : path.substr(path.rfind('/') + 1).rfind(module, 0) == 0))
        continue;
      auto info = debug_.debug_info(path);
      if (!info) continue;
      if (key.rfind("enum ", 0) == 0 || key.rfind("enumerator ", 0) == 0) {
        // An enum by its tag, or the enum that defines an enumerator.
        auto e = key[4] == ' ' ? (*info)->enumeration(key) : (*info)->enumeration_with(key.substr(11));
        if (!e) continue;
        d::TargetAggregate out;
        out.is_enum = true;
        out.key = e->key;
        out.size = e->size;
        out.enumerators = e->enumerators;
        return out;
      }
      auto a = (*info)->aggregate(key);
      if (!a && key.find(' ') == std::string::npos) {
        // A typedef of a scalar: an integer or a pointer D can hold.
        auto t = (*info)->typedef_type(key);
        if (!t) continue;
        d::TargetAggregate out;
        out.is_scalar = true;
        dwarf::AggregateMember m;
        m.cls = t->cls;
        m.size = t->size;
        m.is_signed = t->cls == dwarf::TypeClass::signed_int ||
                      (t->cls == dwarf::TypeClass::character && t->name == "char");
        out.scalar = member(m);
        out.scalar.type_name = t->name;
        if (out.scalar.kind != d::TargetMember::Kind::integer && out.scalar.kind != d::TargetMember::Kind::pointer)
          continue;
        return out;
      }
      if (!a) continue;
      d::TargetAggregate out;
      out.is_union = a->is_union;
      out.size = a->size;
      for (const auto& m : a->members) out.members.push_back(member(m));
      return out;
    }
    return std::nullopt;
  }

  // args[N]'s types when the program is compiled: the parameters of the
  // function a pid entry description names (a name, not a glob), in the
  // module it names or the first that defines it, from DWARF. A double
  // parameter makes args[N] a double, as DTrace types args[] from CTF.
  // A syscall entry description that names one call (syscall::write:entry,
  // write:entry) has that call's arguments, as dtrace's syscall provider
  // types them: args[N] past them is D_ARGS_IDX.
  std::optional<std::vector<d::ProbeArg>> args_of(const d::ProbeDescription& desc) {
    if ((desc.provider == "syscall" || desc.provider.empty()) && desc.module.empty() && desc.name == "entry" &&
        !desc.function.empty() && desc.function.find_first_of("*?[") == std::string::npos) {
      auto nr = syscalls::syscall_number(desc.function);
      auto n = nr ? syscalls::syscall_arg_count(*nr) : std::nullopt;
      if (!n) return std::nullopt;
      d::ProbeArg a;
      a.kind = d::ProbeArg::Kind::integer;
      a.size = 8;
      a.is_signed = true;
      return std::vector<d::ProbeArg>(static_cast<size_t>(*n), a);
    }
    if (desc.provider.rfind("pid", 0) != 0 || desc.name != "entry" || desc.function.empty() ||
        desc.function.find_first_of("*?[") != std::string::npos)
      return std::nullopt;
    for (size_t i = 0; i < paths_.size(); ++i) {
      const std::string& path = paths_[i];
      const std::string base = path.substr(path.rfind('/') + 1);
      if (!desc.module.empty() && !(desc.module == "a.out" ? i == 0 : base.rfind(desc.module, 0) == 0)) continue;
      if (auto params = lookup_probe_params(debug_, path, desc.function)) return params->types;
    }
    return std::nullopt;
  }

  // The executable a -c command runs (its first word, on PATH) or -p's.
  static std::string executable_of(const TargetOptions& t) {
    if (t.pid) return "/proc/" + std::to_string(*t.pid) + "/exe";
    auto words = split_ws(t.command);
    if (words.empty()) return "";
    if (words[0].find('/') != std::string::npos) return words[0];
    const char* path = std::getenv("PATH");
    for (const auto& dir : split(path ? path : "/usr/bin:/bin", ':')) {
      std::string candidate = (dir.empty() ? "." : dir) + "/" + words[0];
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return words[0];
  }

private:
  static d::TargetMember member(const dwarf::AggregateMember& m) {
    using Kind = d::TargetMember::Kind;
    d::TargetMember t;
    t.name = m.name;
    t.type_name = m.type_name;
    switch (m.cls) {
    case dwarf::TypeClass::signed_int:
    case dwarf::TypeClass::unsigned_int:
    case dwarf::TypeClass::boolean:
    case dwarf::TypeClass::character:
    case dwarf::TypeClass::enumeration: t.kind = Kind::integer; break;
    case dwarf::TypeClass::pointer:
    case dwarf::TypeClass::string: t.kind = Kind::pointer; break;
    case dwarf::TypeClass::floating: t.kind = Kind::floating; break;
    case dwarf::TypeClass::structure: t.kind = Kind::aggregate; break;
    default: t.kind = Kind::other; break;
    }
    t.offset = m.offset;
    t.size = static_cast<uint32_t>(m.size);
    t.enumerators = m.enumerators;
    t.is_signed = m.is_signed;
    t.bit_offset = static_cast<uint8_t>(m.bit_offset);
    t.bit_size = static_cast<uint8_t>(m.bit_size);
    t.count = m.count;
    t.pointee_aggregate = m.pointee_aggregate;
    t.pointee_size = static_cast<uint32_t>(m.pointee_size);
    t.pointee_signed = m.pointee_signed;
    return t;
  }

  DebugArgs debug_;
  std::vector<std::string> paths_;
};

int parse_options(int argc, char** argv, DOptions& opt) {
  CLI::App app{"probekit: dynamic tracing of Linux processes with the D language", "probekit"};
  app.set_help_flag("-h,--help", "print this help");
  std::optional<pid_t> pid;
  app.add_option("-p", pid, "trace the running process PID ($target)");
  app.add_option("-c", opt.target.command, "run CMD ARGS under tracing ($target)");
  // One value per -n/-s: what follows the script is its $1..$n
  // (`probekit -s FILE ARGS...`, and `#!/usr/bin/env -S probekit -qs`).
  app.add_option("-n", opt.programs, "a D program (or a probe description with -l)")->allow_extra_args(false);
  app.add_option("-s", opt.files, "a D program file")->allow_extra_args(false);
  app.add_flag("-C", opt.cpp, "run the C preprocessor (cpp) over the program");
  app.add_option("-D", opt.cpp_options.defines, "define NAME[=VALUE] for -C")->allow_extra_args(false);
  app.add_option("-U", opt.cpp_options.undefines, "undefine NAME for -C")->allow_extra_args(false);
  app.add_option("-I", opt.cpp_options.includes, "add DIR to the #include path of -C")->allow_extra_args(false);
  app.add_flag("-q", opt.quiet, "quiet: only what the program prints");
  app.add_flag("-w", opt.destructive, "allow destructive actions");
  app.add_flag("-Z", opt.zero_ok, "allow descriptions that match no probes");
  app.add_flag("-G", opt.elf_object, "dtrace's ELF object of the program (not supported: refused)");
  app.add_flag("-F", opt.flow, "indent function entry/return flow");
  app.add_flag("-v", opt.verbose, "verbose: how each probe is armed; with -l, arguments and types");
  app.add_flag("-l", opt.list, "list probes instead of enabling them");
  app.add_flag("-e", opt.compile_only, "exit after compiling the program, before any process is started or attached");
  app.add_flag("-V", opt.version, "print the version of D this probekit implements");
  std::vector<std::string> bufsizes;
  auto* b_opt = app.add_option("-b", bufsizes, "set the trace buffer size (-x bufsize=SIZE)")
                    ->type_name("SIZE")
                    ->allow_extra_args(false);
  app.add_option("-L", opt.libdirs, "compile every DIR/*.d (a library of declarations) before the program")
      ->allow_extra_args(false)
      ->type_name("DIR");
  app.add_option("-f", opt.format,
                 "output format: text, json, folded (aggregations as folded stacks for flame graphs) or chrome "
                 "(a Chrome trace event timeline)");
  app.add_option("-o", opt.output, "write output to FILE");
  app.add_option("-d", opt.duration, "stop after SECONDS, print the aggregations and detach");
  app.set_version_flag("--version", "probekit " PROBEKIT_VERSION);
  std::vector<std::string> xopts;  // -x OPT[=VAL] and -b SIZE (bufsize=SIZE), in command-line order
  auto* x_opt = app.add_option("-x", xopts, "set option OPT[=VAL]")->allow_extra_args(false);
  app.add_option("args", opt.args, "macro arguments $1..$9");
  app.allow_extras(false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      app.exit(e);
      return -1;
    }
    report_error("", e.what());
    std::fprintf(stderr,
                 "usage: probekit [-p PID | -c CMD] [-eqwZF] [-b SIZE] [-f text|json|folded|chrome] [-o FILE] "
                 "[-d SECONDS] [-x OPT[=VAL]] [-L DIR] [-C [-D NAME[=VAL]] [-U NAME] [-I DIR]] (-n PROG | -s FILE)... "
                 "[ARGS]\n"
                 "       probekit -V\n"
                 "       probekit -l [-v] [-n DESC] [-p PID | -c CMD]\n"
                 "       probekit trace [-p PID | -c CMD] [-C] [-d SECONDS] DEFINITION...\n");
    return exit_usage;
  }
  opt.target.pid = pid;
  // -b SIZE is -x bufsize=SIZE, and the later of them wins, as dtrace(1)
  // sets both in command-line order.
  size_t b = 0, x = 0;
  for (const CLI::Option* o : app.parse_order()) {
    if (o == b_opt && b < bufsizes.size()) opt.xopts.push_back("bufsize=" + bufsizes[b++]);
    if (o == x_opt && x < xopts.size()) opt.xopts.push_back(xopts[x++]);
  }
  return exit_ok;
}

}  // namespace

int list_main(DOptions& opt);

// dtrace(1) exits 2 (E_USAGE) only for a command line it cannot parse; a
// program, an option value, a target or a probe it cannot use is E_ERROR,
// 1, whatever the error's kind. Prints the error as report() does.
int reject(const std::string& where, const Error& error, const std::string& text = "") {
  report(where, error, text);
  return exit_rejected;
}

namespace {
// "pid$target" -> "pid1234" in -l descriptions (programs expand it in D).
std::string normalize_target(std::string provider, pid_t pid) {
  auto pos = provider.find("$target");
  if (pos != std::string::npos) provider.replace(pos, 7, std::to_string(pid));
  return provider;
}
}  // namespace

namespace {

// A D program file is text a person wrote: read at most this much, so a
// wrong path (/dev/zero, a binary) is an error instead of a read for ever.
constexpr size_t kMaxProgramBytes = 1 << 20;

Result<std::string> read_program_file(const std::string& path) {
  auto text = read_file(path, kMaxProgramBytes);
  if (!text && text.error().kind() == ErrorKind::usage) {
    return Error("'" + path + "' is not a D program: it is larger than " + std::to_string(kMaxProgramBytes >> 20) +
                     " MiB (or never ends)",
                 ErrorKind::usage);
  }
  return text;
}

// "4m", "512k", "65536": DTrace's size options, in bytes.
Result<size_t> parse_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  uint64_t scale = unit.empty() ? 1 : unit == "k" || unit == "K" ? 1ull << 10 : unit == "m" || unit == "M" ? 1ull << 20
                 : unit == "g" || unit == "G" ? 1ull << 30 : 0;
  auto n = digits ? parse_uint(text.substr(0, digits), 10) : std::nullopt;
  if (!n || !scale || *n == 0 || *n > (1ull << 34) / scale)
    return Error("'" + text + "' is not a size; use bytes with an optional k, m or g suffix (4m)", ErrorKind::usage);
  return static_cast<size_t>(*n * scale);
}

// The process a `pidN` provider names (0: none); two different ones are an
// error, as probekit traces one process.
Result<pid_t> named_pid(const std::vector<d::ClauseInfo>& clauses) {
  pid_t found = 0;
  std::string first;
  for (const auto& c : clauses) {
    for (const auto& d : c.descriptions) {
      if (!starts_with(d.provider, "pid") || d.provider.size() == 3) continue;
      auto n = parse_uint(d.provider.substr(3), 10);
      if (!n || *n == 0 || *n > 0x7fffffff) continue;  // a glob (pid*) names no process
      auto pid = static_cast<pid_t>(*n);
      if (found && pid != found)
        return Error("probe descriptions '" + first + "' and '" + d.text +
                         "' name two processes; probekit traces one (give one pid, or -p PID)",
                     ErrorKind::usage);
      if (!found) first = d.text;
      found = pid;
    }
  }
  return found;
}

// The *.d files of a -L directory, by name (dtrace's library directory:
// declarations, inlines and translators the program may use).
Result<std::vector<std::string>> library_files(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".d" && e.is_regular_file()) out.push_back(e.path().string());
  }
  if (ec)
    return Error("cannot read the library directory '" + dir + "': " + ec.message() +
                     "; give a directory of .d files",
                 ErrorKind::usage);
  std::sort(out.begin(), out.end());
  return out;
}

// A -s file or -n program inside the source compiled: lines first..last.
struct ProgramPart {
  std::string kind;  // "script" or "description"
  std::string name;  // the file, or the -n text up to its first '{', '/' or ';'
  int first_line = 0;
  int last_line = 0;
};

// For each line of the text compiled (from 1), its line in the program
// `file_name` names, through the line markers of -L and of cpp (`#line N
// "file"`, `# N "file"`); 0 for a line of a library or a header.
std::vector<int> program_lines(const std::string& text, const std::string& file_name) {
  std::vector<int> out{0};
  std::string file = file_name;
  int line = 1;
  for (const auto& l : split(text, '\n')) {
    std::string_view body = trim(l);
    if (starts_with(body, "#")) {
      body = trim(body.substr(1));
      if (starts_with(body, "line")) body = trim(body.substr(4));
      size_t digits = 0;
      while (digits < body.size() && std::isdigit(static_cast<unsigned char>(body[digits]))) ++digits;
      std::string_view rest = trim(body.substr(digits));
      if (digits > 0 && rest.size() >= 2 && rest[0] == '"' && rest.find('"', 1) != std::string_view::npos) {
        file = std::string(rest.substr(1, rest.find('"', 1) - 1));
        line = static_cast<int>(parse_uint(body.substr(0, digits), 10).value_or(1));
        out.push_back(0);
        continue;
      }
    }
    out.push_back(file == file_name || file == "<stdin>" ? line : 0);  // cpp names the program <stdin>
    ++line;
  }
  return out;
}

// dtrace(1)'s notice per -s and -n: the probes its clauses matched (a probe
// matched by two clauses counts twice, as dtrace counts enablings).
void report_matches(const std::vector<ProgramPart>& parts, const std::vector<int>& lines,
                    const d::Program& program, const std::vector<size_t>& matched) {
  const auto& clauses = program.clauses();
  for (const auto& part : parts) {
    size_t n = 0;
    for (size_t i = 0; i < clauses.size() && i < matched.size(); ++i) {
      const int physical = clauses[i].descriptions.empty() ? 0 : clauses[i].descriptions.front().range.line;
      const int line = physical > 0 && static_cast<size_t>(physical) < lines.size() ? lines[physical] : 0;
      if (line >= part.first_line && line <= part.last_line) n += matched[i];
    }
    std::fprintf(stderr, "probekit: %s '%s' matched %zu probe%s\n", part.kind.c_str(), part.name.c_str(), n,
                 n == 1 ? "" : "s");
  }
}

// "0.5", "2": -x progress= in seconds.
Result<double> parse_seconds(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v >= 0 && v < 1e9))
    return Error("'" + text + "' is not a number of seconds (0.5, 2)", ErrorKind::usage);
  return v;
}

}  // namespace

int d_main(int argc, char** argv) {
  DOptions opt;
  int rc = parse_options(argc, argv, opt);
  if (rc == -1) return exit_ok;
  if (rc != exit_ok) return rc;
  if (opt.version) {
    // As dtrace -V: the version of the D language, on stdout.
    std::printf("probekit: %s %s\n", d::kDDialect, d::kDVersion);
    return exit_ok;
  }
  if (opt.list) return list_main(opt);
  // -G is a valid dtrace(1) mode that probekit does not have: the program
  // cannot be made into an object, an error of the run (1, as dtrace's
  // failed link), not of the command line.
  if (opt.elf_object) {
    report_error("-G", "probekit cannot make an ELF object of a D program to link into an application; run the "
                       "program itself (-s FILE or -n PROGRAM, without -G)");
    return exit_rejected;
  }
  if (opt.programs.empty() && opt.files.empty()) {
    report_error("", "no program: give -n 'PROGRAM' or -s FILE (see probekit -h)");
    return exit_usage;
  }
  if (opt.format != "text" && opt.format != "json" && opt.format != "folded" && opt.format != "chrome") {
    report_error("-f", "unknown output format '" + opt.format + "'; use text, json, folded or chrome");
    return exit_usage;
  }
  if (opt.duration && !(*opt.duration > 0 && *opt.duration < 1e9)) {
    report_error("-d", "'" + std::to_string(*opt.duration) + "' is not a duration; give a positive number of seconds");
    return exit_usage;
  }

  // The source: the -L libraries, then every -s file, then every -n
  // program, as one program. Each library is preceded by a line marker so
  // that its errors name it; the program's lines keep their numbers after
  // the marker that ends the libraries.
  std::string source, file_name = "<command line>";
  std::string libraries;
  for (const auto& dir : opt.libdirs) {
    auto files = library_files(dir);
    if (!files) return reject("-L " + dir, files.error());
    for (const auto& f : *files) {
      auto text = read_program_file(f);
      if (!text) return reject("-L " + dir, text.error());
      libraries += "#line 1 \"" + f + "\"\n" + *text;
      if (libraries.back() != '\n') libraries += '\n';
    }
  }
  // Where each -s file and -n program is, by line, for dtrace(1)'s
  // "script 'FILE' matched N probes" / "description 'DESC' matched ...".
  std::vector<ProgramPart> parts;
  auto line_count = [](const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  };
  // A file that ends inside a control line ('#pragma' with no newline) is
  // dtrace's syntax error when nothing follows it: the lexer sees it so.
  bool ends_in_control_line = false;
  for (const auto& f : opt.files) {
    auto text = read_program_file(f);
    if (!text) return reject("-s " + f, text.error());
    const int first = line_count(source) + 1;
    const size_t last_line = text->rfind('\n') == std::string::npos ? 0 : text->rfind('\n') + 1;
    const size_t hash = text->find_first_not_of(" \t", last_line);
    ends_in_control_line = !text->empty() && text->back() != '\n' && hash != std::string::npos && (*text)[hash] == '#';
    source += *text;
    if (!source.empty() && source.back() != '\n') source += '\n';
    parts.push_back({"script", f, first, line_count(source)});
    file_name = f;
  }
  for (const auto& p : opt.programs) {
    ends_in_control_line = false;
    const int first = line_count(source) + 1;
    source += p;
    source += '\n';
    parts.push_back({"description", p.substr(0, p.find_first_of("{/;")), first, line_count(source)});
  }
  if (!opt.files.empty() && !opt.programs.empty()) file_name = "<program>";
  if (!libraries.empty()) source = libraries + "#line 1 \"" + file_name + "\"\n" + source;
  // -x define=, undef=, incdir= are -D, -U, -I, -x cpp is -C; -x stdc= is dtrace's -X
  // (a, t: __STDC__ 0; c: 1, cpp's own; s: undefined). They are the
  // preprocessor's, not the program's.
  for (auto it = opt.xopts.begin(); it != opt.xopts.end();) {
    const auto eq = it->find('=');
    const std::string name = it->substr(0, eq), value = eq == std::string::npos ? "" : it->substr(eq + 1);
    if (name == "define") opt.cpp_options.defines.push_back(value);
    else if (name == "undef") opt.cpp_options.undefines.push_back(value);
    else if (name == "incdir") opt.cpp_options.includes.push_back(value);
    else if (name == "cpp") opt.cpp = true;  // dtrace's -C as an option
    else if (name == "stdc") {
      if (value == "a" || value == "t") opt.cpp_options.defines.push_back("__STDC__=0");
      else if (value == "s") {
        opt.cpp_options.undefines.push_back("__STDC__");
        opt.cpp_options.iso_c99 = false;
      }
      else if (value != "c") {
        report_error("-x stdc", "'" + value + "' is not a C dialect: use a (ISO C with K&R extensions), c (strict "
                                "ISO C), s (K&R C) or t (transition)");
        return exit_rejected;
      }
    } else {
      ++it;
      continue;
    }
    it = opt.xopts.erase(it);
  }
  if (opt.cpp) {
    for (const auto& f : opt.files) {
      auto slash = f.rfind('/');
      opt.cpp_options.quote_dirs.push_back(slash == std::string::npos ? "." : slash == 0 ? "/" : f.substr(0, slash));
    }
    auto expanded = preprocess(source, file_name, opt.cpp_options);
    if (!expanded) return reject("-C", expanded.error());
    source = std::move(*expanded);
  }
  // Without -C, -D, -U and -I are accepted and do nothing, as dtrace(1)'s:
  // the preprocessor does not run.
  if (!opt.cpp && ends_in_control_line) source.pop_back();

  d::CompileOptions co;
  co.macro_args = opt.args;
  co.script_name = opt.files.empty() ? "probekit" : opt.files.front();
  co.destructive = opt.destructive;
  co.quiet = opt.quiet;
  co.flow_indent = opt.flow;
  co.format = opt.format == "json" ? d::OutputFormat::json : d::OutputFormat::text;
  if (opt.format == "folded") co.options.emplace_back("aggfmt", "folded");  // -x aggfmt= below may override it
  for (const auto& x : opt.xopts) {
    auto eq = x.find('=');
    co.options.emplace_back(x.substr(0, eq), eq == std::string::npos ? "" : x.substr(eq + 1));
  }

  // Everything that can be checked is checked before a command starts: the
  // program compiles with a stand-in pid ($target needs the real one, so
  // it is compiled again once the target exists), which also names the
  // system calls a launched target's seccomp filter must trap before it
  // starts; the output file is opened (not truncated) and the options read.
  LaunchOptions launch;
  // Kernel tracepoints (tracepoint:, proc:, sched:, syscall::: without a
  // target) type args->FIELD from tracefs, and their perf events open
  // before a -c command starts so that its own exec is seen.
  KernelProbes kernel(opt.target.has_target());
  co.probe_fields = [&kernel](const d::ProbeDescription& desc) { return kernel.fields_for(desc); };
  TargetTypes target_types;
  if (opt.target.has_target()) target_types.set_paths({TargetTypes::executable_of(opt.target)});
  co.target_type = [&target_types](const std::string& key) { return target_types.find(key); };
  co.probe_args = [&target_types](const d::ProbeDescription& desc) { return target_types.args_of(desc); };
  {
    d::CompileOptions first = co;
    first.target_pid = opt.target.has_target() ? 1 : 0;
    auto probe_pass = d::compile(source, file_name, first);
    if (!probe_pass.ok()) {
      std::fputs(probe_pass.diagnostics.render().c_str(), stderr);
      return exit_rejected;
    }
    // -e: the program compiles; nothing is started, attached or armed.
    if (opt.compile_only) return exit_ok;
    // pid$1, pid1234: a description naming a process is the target when
    // -p and -c name none (dtrace attaches to it the same way).
    if (!opt.target.has_target()) {
      auto named = named_pid(probe_pass.program->clauses());
      if (!named) return reject("", named.error());
      if (*named > 0) opt.target.pid = *named;
    }
    size_t ring_bytes = KernelProbes::kDefaultRingBytes;
    if (std::string b = probe_pass.program->option("bufsize"); !b.empty()) {
      auto n = parse_size(b);
      if (!n) return reject("-x bufsize", n.error());
      ring_bytes = *n;
    }
    if (auto opened = kernel.open(probe_pass.program->clauses(), ring_bytes); !opened)
      return reject("", opened.error());
    if (!opt.target.command.empty()) launch.trace_syscalls = launch_syscalls(probe_pass.program->clauses());
    auto mechanism = parse_return_mechanism(probe_pass.program->option("retprobe"));
    if (!mechanism) return reject("-x retprobe", mechanism.error());
    auto backend = parse_backend(probe_pass.program->option("backend"));
    if (!backend) return reject("-x backend", backend.error());
    launch.backend = *backend;
    launch.hands_off = probe_pass.program->has_option("handsoff");
    launch.agent_native = probe_pass.program->option("agentjit") != "off";
  }
  // -o FILE is appended to, as dtrace(1) opens it (fopen "a").
  auto writer = output::Writer::prepare(opt.output.empty() ? "-" : opt.output, output::Writer::Mode::append);
  if (!writer) return reject("", writer.error());

  route_signals_to(nullptr);  // from here on a signal stops set-up cleanly
  std::unique_ptr<Session> session;
  const bool launched = !opt.target.command.empty();
  // A set-up error once the target exists ends the command launched (and
  // detaches from an attached process: the session's destructor).
  auto fail = [&](int code) {
    if (session && launched) end_launched(*session);
    route_signals_to(nullptr);
    return code;
  };
  if (opt.target.has_target()) {
    auto s = open_target(opt.target, launch);
    if (!s) return reject("", s.error());
    session = std::move(*s);
    route_signals_to(session.get());
    // A launched target stops at exec, before ld.so maps its libraries:
    // let it map them (and stop before their initializers and main) so
    // descriptions such as pid$target:libc.so.6::entry find their functions.
    if (auto loaded = session->load_libraries(); !loaded && !interrupted()) return fail(reject("", loaded.error()));
  }
  co.target_pid = session ? session->pid() : 0;
  if (session) {
    // pid$1 named the target after the first compile; and now its
    // libraries are loaded too.
    std::vector<std::string> paths;
    for (const auto& m : session->modules())
      if (m.is_main_executable) paths.insert(paths.begin(), m.path);
      else paths.push_back(m.path);
    target_types.set_paths(std::move(paths));
  }
  auto compiled = d::compile(source, file_name, co);
  if (!compiled.ok()) {
    std::fputs(compiled.diagnostics.render().c_str(), stderr);
    return fail(exit_rejected);
  }
  d::Program& program = *compiled.program;

  const bool chrome = opt.format == "chrome";
  WriterSink sink(*writer, chrome);
  program.set_output(&sink);
  Timeline timeline;
  timeline.writer = &*writer;
  EngineHost host(session.get());
  program.set_host(&host);

  // args[N] is typed from DWARF, opened only when the program reads args[].
  DebugArgs debug;
  BindOptions bind;
  bind.zero_ok = opt.zero_ok || program.has_option("zdefs");  // -Z, -x zdefs, the pragma
  bind.launched = launched;
  bind.quiet = program.quiet();  // -q, or the quiet option as the program left it
  bind.verbose = opt.verbose;
  bind.typed_args = source.find("args[") != std::string::npos;
  bind.return_mechanism = *parse_return_mechanism(program.option("retprobe"));
  bind.kernel = &kernel;
  bind.agent = *parse_backend(program.option("backend")) != BackendChoice::trap && !program.has_option("noagent") && !chrome;
  if (chrome) {
    bind.timeline = &timeline;
    kernel.set_timeline(&timeline);
  }
  if (std::string p = program.option("progress"); !p.empty()) {
    auto delay = parse_seconds(p);
    if (!delay) return fail(reject("-x progress", delay.error()));
    bind.progress_delay_s = *delay;
  }
  ProbeBinder binder(program, session.get(), debug, bind);
  // exit() anywhere ends every clause's firing, the agents' included, and
  // the counting probes' totals (dtrace-utils: after exit() only END runs).
  program.set_on_exit([&binder] { binder.stop_at_exit(); });
  int worst = interrupted() ? exit_ok : binder.bind_all();
  if (worst != exit_ok) return fail(exit_rejected);  // a description that matches nothing, as dtrace: 1
  host.remember_modules();
  if (!program.quiet() && !interrupted())
    report_matches(parts, program_lines(source, file_name), program, binder.matched());
  // After the matches, as dtrace reports it when it enables them.
  if (std::string why = program.enabling_error(); !why.empty() && !interrupted()) {
    std::fprintf(stderr, "probekit: could not enable tracing: Enabling exceeds size of buffer (%s)\n", why.c_str());
    return fail(exit_runtime);
  }
  // dtrace(1) notes it once tracing is on (after go()), unless quiet.
  if (program.destructive() && !program.quiet() && !interrupted())
    std::fputs("probekit: allowing destructive actions\n", stderr);
  auto& ticks = binder.ticks();

  // A stop request (Ctrl-C, SIGTERM) during set-up ends it here: no clause
  // fires, every byte is restored at the detach below.
  bool stopped_early = interrupted();
  // -x metrics=ADDR:PORT: the aggregations, published by this loop.
  std::unique_ptr<output::MetricsServer> metrics;
  if (std::string where = program.option("metrics"); program.has_option("metrics") && !stopped_early) {
    auto server = output::MetricsServer::start(where);
    if (!server) return fail(reject("-x metrics", server.error()));
    metrics = std::move(*server);
    if (!program.quiet() || where.ends_with(":0"))  // a port picked for us must be named, even with -q
      report_note("serving the aggregations at http://" + where.substr(0, where.rfind(':')) + ":" +
                  std::to_string(metrics->port()) + "/metrics");
  }
  constexpr double kMetricsPublish = 0.25;  // seconds between snapshots of the aggregations
  auto publish = [&] {
    if (!metrics) return;
    if (session) binder.flush_counts();
    metrics->publish(program.openmetrics());
  };
  const uint64_t deadline = opt.duration ? now_ns() + static_cast<uint64_t>(*opt.duration * 1e9) : 0;
  if (auto st = writer->start(); !st) return fail(reject("", st.error()));
  if (chrome) (void)writer->write(timeline.trace.begin());
  const uint64_t started_ns = now_ns();
  kernel.set_begin_ns(now_ns());
  bool done = stopped_early || program.begin();
  bool target_exited = false;
  int target_status = -1;
  while (!done && !interrupted()) {
    // Run the target (or sleep) until the next tick is due.
    std::optional<double> slice;
    if (!ticks.empty()) {
      uint64_t next = ticks.front().next_ns;
      for (const auto& t : ticks) next = std::min(next, t.next_ns);
      uint64_t now = now_ns();
      slice = next > now ? static_cast<double>(next - now) / 1e9 : 0.0;
    }
    // Kernel events are drained at least every 50 ms (and when a ring is
    // a quarter full).
    constexpr double kKernelDrain = 0.05;
    if (kernel.active()) slice = std::min(slice.value_or(kKernelDrain), kKernelDrain);
    if (metrics) slice = std::min(slice.value_or(kMetricsPublish), kMetricsPublish);
    if (program.has_option("aggrate")) {  // the consumer's copy for printa(), when it is due
      const uint64_t snap = program.next_consume_ns(), now = now_ns();
      constexpr double kFirstCopyPoll = 0.05;  // until printa() takes the first copy
      slice = std::min(slice.value_or(1e9),
                       snap == 0 ? kFirstCopyPoll : snap > now ? static_cast<double>(snap - now) / 1e9 : 0.0);
    }
    if (deadline) {
      uint64_t now = now_ns();
      if (now >= deadline) break;
      slice = std::min(slice.value_or(1e9), static_cast<double>(deadline - now) / 1e9);
    }
    if (session) {
      auto r = session->run(slice);
      host.remember_modules();  // libraries loaded meanwhile, for the agent's stacks
      if (!r) {
        worst = reject("", r.error());
        break;
      }
      if (*r >= 0) {
        target_exited = true;
        target_status = *r;
        break;
      }
      if (program.exit_requested() || kernel.drain(program)) break;
    } else if (kernel.active()) {
      kernel.wait(static_cast<int>(*slice * 1000));
      if (kernel.drain(program)) break;
    } else if (slice) {
      timespec ts{static_cast<time_t>(*slice), static_cast<long>(std::fmod(*slice, 1.0) * 1e9)};
      nanosleep(&ts, nullptr);
    } else {
      pause();  // BEGIN/END only: wait for Ctrl-C
    }
    uint64_t now = now_ns();
    if (!ticks.empty()) binder.flush_counts();
    for (auto& t : ticks) {
      while (t.next_ns <= now && !done) {
        d::FireContext fc;
        done = program.fire(t.id, fc);
        t.next_ns += t.period_ns;
      }
    }
    done = done || program.exit_requested();
    if (const uint64_t snap = program.next_consume_ns(); snap && snap <= now_ns()) program.consume(now_ns());
    publish();
  }
  // dtrace's consumer sees exit() at its next status check (dtrace_status()
  // every statusrate, 1 s by default, from the start), and only then stops
  // and fires END; meanwhile no clause runs (the draining state) and the
  // target runs on. With -x statusrate probekit waits for that check. Without
  // it, a command probekit started runs on until its next event that reaches
  // a clause (the clause is skipped and stops it), its exit, or that check,
  // whichever is first: so the system call whose probe called exit() is
  // made (the write a syscall::write:entry clause saw is written, as under
  // dtrace) before the command is ended. An attached process is detached
  // at once.
  constexpr uint64_t kDefaultStatusRateNs = 1'000'000'000;  // dt_open.c: DTRACEOPT_STATUSRATE
  const bool status_checked = program.has_option("statusrate");
  if (program.exit_requested() && !interrupted() && !target_exited && (status_checked || (session && launched))) {
    std::optional<uint64_t> period = kDefaultStatusRateNs;
    if (status_checked) period = d::option_rate_ns(program.option("statusrate"));
    if (period && *period > 0) {
      const uint64_t check = started_ns + ((now_ns() - started_ns) / *period + 1) * *period;
      for (uint64_t now = now_ns(); now < check && !interrupted(); now = now_ns()) {
        const double left = static_cast<double>(check - now) / 1e9;
        if (session) {
          auto r = session->run(left);
          if (!r) break;
          if (*r >= 0) {
            target_exited = true;
            target_status = *r;
            break;
          }
          if (!status_checked) break;  // its next event: end it now
        } else {
          timespec ts{static_cast<time_t>(left), static_cast<long>(std::fmod(left, 1.0) * 1e9)};
          nanosleep(&ts, nullptr);
        }
      }
    }
  }
  // exit() ends a launched command that is still running, as dtrace ends
  // the command it started: none is left behind, printing after probekit
  // has gone. Ctrl-C and -d let it finish: detached, or, under the
  // system-call filter (its filtered calls would fail with ENOSYS once
  // detached), traced until it exits.
  const bool filtered = session && launched && !target_exited && !launch.trace_syscalls.empty();
  const bool end_target = session && launched && !target_exited && program.exit_requested();
  if (filtered && !end_target)
    report_note("results below; the target keeps running traced until it exits, because its seccomp filter "
                "cannot be removed (Ctrl-C again kills it)");
  if (session && !stopped_early) binder.flush_counts();
  if (!stopped_early && !program.exit_requested()) (void)kernel.drain(program);  // what the rings still hold
  if (session && !stopped_early)
    if (const uint64_t n = session->agent_faults())  // as dtrace reports drops: before the aggregations
      report_warning("", std::to_string(n) + " clause run" + (n == 1 ? "" : "s") +
                             " abandoned in the agent (a stack word that could not be read, or more than 256 "
                             "threads at once); -x noagent runs every clause in probekit");
  if (session && !stopped_early)  // records and agent output a full thread buffer lost, as dtrace reports drops
    for (const auto& d : session->dropped_records())
      std::fprintf(stderr, "probekit: %llu drop%s on CPU %d\n", static_cast<unsigned long long>(d.count),
                   d.count == 1 ? "" : "s", d.cpu);
  if (!stopped_early) program.end();
  if (chrome) (void)writer->write(timeline.trace.end());
  sink.flush();
  if (metrics && !stopped_early) {
    // The final values stay up until Ctrl-C or the end of -d, so the last
    // scrape sees them (the target may have exited).
    publish();
    while (!interrupted() && (!deadline || now_ns() < deadline)) {
      timespec ts{0, 50'000'000};
      nanosleep(&ts, nullptr);
    }
  }
  kernel.report_drops();
  if (end_target) {
    end_launched(*session);
    if (!program.quiet())
      report_note("pid " + std::to_string(session->pid()) +
                  " killed: exit() ended tracing, and with it the command probekit started");
  }
  if (session) {
    auto d = session->detach();
    if (!d && worst == exit_ok) worst = reject("", d.error());
    if (opt.verbose)
      for (const auto& line : session->detach_notes()) report_note(line);
  }
  route_signals_to(nullptr);
  if (worst == exit_ok && program.exit_requested()) worst = program.exit_status();
  if (launched && target_exited)
    return command_ended(session->pid(), target_status, session->exit_signal(), worst,
                         program.has_option("exitcode") && !program.exit_requested(), program.quiet());
  return worst;
}

// `probekit -l`: `   ID   PROVIDER            MODULE                          FUNCTION NAME`
// With -v, each pid probe is followed by its arguments, after the
// "Argument Types" section of dtrace -lv (a blank line, the heading after
// one tab, one line per argument after two, a blank line):
//
//       4    pid1234             a.out                          process entry
//
//   	Argument Types
//   		args[0]: int id
//   		args[1]: const char * name
//
// "None" for a function without parameters; "unavailable (no debug
// information in 'PATH')" when the object has no DWARF.
namespace {
// One printf-formatted piece of -l's listing, written through W.
[[gnu::format(printf, 2, 3)]] void put(output::Writer& w, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  va_list again;
  va_copy(again, ap);
  const int n = std::vsnprintf(nullptr, 0, format, ap);
  va_end(ap);
  std::string text(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(text.data(), text.size() + 1, format, again);
  va_end(again);
  (void)w.write(text);
}
}  // namespace

int list_main(DOptions& opt) {
  DebugArgs debug;
  // -o FILE: appended to, as dtrace -l -o does.
  auto out = output::Writer::prepare(opt.output.empty() ? "-" : opt.output, output::Writer::Mode::append);
  if (!out) return reject("", out.error());
  std::unique_ptr<Session> session;
  if (opt.target.has_target()) {
    auto s = open_target(opt.target);
    if (!s) return reject("", s.error());
    session = std::move(*s);
    if (auto loaded = session->load_libraries(); !loaded) return reject("", loaded.error());
  }
  for (const auto& text : opt.programs) {
    if (!session && text.find("$target") != std::string::npos) {
      report_error("-l", "probe description '" + text + "': $target needs a process: give -p PID or -c 'CMD ARGS'");
      return exit_rejected;
    }
  }
  put(*out, "%5s %10s %17s %33s %s\n", "ID", "PROVIDER", "MODULE", "FUNCTION", "NAME");
  int id = 0;
  auto row = [&](const std::string& prov, const std::string& mod, const std::string& fn, const std::string& name) {
    put(*out, "%5d %10s %17s %33s %s\n", ++id, prov.c_str(), mod.c_str(), fn.c_str(), name.c_str());
  };
  std::vector<std::string> descs = opt.programs;
  if (descs.empty()) descs.push_back("");
  KernelProbes kernel(session != nullptr);
  for (const auto& text : descs) {
    // A description: [[[provider:]module:]function:]name, missing leading fields as wildcards.
    auto fields = split(text, ':');
    if (fields.size() == 3 && fields[0] == "tracepoint") fields.emplace_back();  // bpftrace's spelling
    if (fields.size() == 2 && (fields[0] == "kprobe" || fields[0] == "kretprobe")) {
      fields.insert(fields.begin() + 1, "");
      fields.emplace_back();
    }
    while (fields.size() < 4) fields.insert(fields.begin(), "");
    if (fields.size() > 4) {
      report_error("", "invalid probe description '" + text + "'; use provider:module:function:name");
      return exit_rejected;
    }
    if (session && !fields[0].empty()) {
      fields[0] = normalize_target(fields[0], session->pid());
    }
    d::ProbeDescription desc;
    desc.provider = fields[0];
    desc.module = fields[1];
    desc.function = fields[2];
    desc.name = fields[3];
    desc.text = text;
    for (const char* n : {"BEGIN", "END", "ERROR"})
      if ((desc.provider.empty() || glob_match(desc.provider, "dtrace")) && desc.module.empty() &&
          desc.function.empty() && (desc.name.empty() || glob_match(desc.name, n)))
        row("dtrace", "", "", n);
    if ((desc.provider.empty() || glob_match(desc.provider, "syscall")) && syscall_module_matches(desc.module)) {
      for (const auto& e : syscalls::all_syscalls()) {
        std::string fn(e.name);
        if (!desc.function.empty() && !glob_match(desc.function, fn)) continue;
        for (const char* n : {"entry", "return"})
          if (desc.name.empty() || glob_match(desc.name, n)) row("syscall", kSyscallModule, fn, n);
      }
    }
    if (kernel.is_kernel(desc) && desc.provider != "syscall") {
      auto keys = kernel.list(desc);
      if (!keys) return reject("-l", keys.error());
      for (const auto& l : *keys) {
        row(l.key.provider, l.key.module, l.key.function, l.key.name);
        if (!opt.verbose) continue;
        // dtrace -lv's section, with the tracepoint's fields as args->.
        put(*out, "\n\tArgument Types\n");
        if (l.fields.empty()) put(*out, "\t\tNone\n");
        for (const auto& f : l.fields) put(*out, "\t\targs->%s: %s\n", f.name.c_str(), f.c_type.c_str());
        put(*out, "\n");
      }
      continue;
    }
    if (session && (desc.provider.empty() || starts_with(desc.provider, "pid"))) {
      if (desc.provider.empty() && desc.module.empty() && desc.function.empty() && desc.name.empty())
        continue;  // as dtrace -l: no pid probes unless asked for
      auto probes = expand_pid(desc, *session);
      if (!probes) return reject("", probes.error());
      for (const auto& p : *probes) {
        row(p.key.provider, p.key.module, p.key.function, p.key.name);
        if (!opt.verbose) continue;
        put(*out, "\n\tArgument Types\n");
        for (const auto& l : describe_args(debug, p.module_path, p.raw_symbol, p.is_return))
          put(*out, "\t\t%s\n", l.c_str());
        put(*out, "\n");
      }
    }
    // USDT probes: the notes of every mapped object (the provider field is
    // the note's provider with the pid, python1234, or without it).
    const bool other_provider = !desc.provider.empty() && !starts_with(desc.provider, "pid") &&
                                !glob_match(desc.provider, "syscall") && !glob_match(desc.provider, "dtrace") &&
                                !glob_match(desc.provider, "profile");
    if (session && (desc.provider.empty() || other_provider)) {
      auto all = usdt_probes(*session);
      if (!all) return reject("", all.error());
      for (const auto& m : match_usdt(desc, *all, session->pid())) {
        row(m.key.provider, m.key.module, m.key.function, m.key.name);
        if (!opt.verbose) continue;
        put(*out, "\n\tArgument Types\n");
        if (!m.probe.args_error.empty()) put(*out, "\t\t%s\n", m.probe.args_error.c_str());
        for (size_t i = 0; i < m.probe.args.size(); ++i) {
          const auto& a = m.probe.args[i];
          put(*out, "\t\targs[%zu]: %s%d_t (%s)\n", i, a.is_signed ? "int" : "uint", a.size * 8, a.text.c_str());
        }
        if (m.probe.semaphore) put(*out, "\t\tsemaphore: 0x%llx\n", static_cast<unsigned long long>(m.probe.semaphore));
        put(*out, "\n");
      }
    }
  }
  (void)out->flush();
  if (session && !opt.target.command.empty()) {
    // A command started only to list its probes never ran its main: end it
    // rather than let it run (it may be a server) once we let go.
    ::kill(session->pid(), SIGKILL);
  }
  if (session) (void)session->detach();
  return exit_ok;
}

}  // namespace probekit::cli
