#include "cli/usdt.h"

#include <unistd.h>

#include <cstdlib>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "cli/d_probes.h"
#include "elf/elf_file.h"
#include "trace/registers.h"
#include "util/strings.h"

namespace probekit::cli {

std::string usdt_d_name(const std::string& note_name) {
  std::string out;
  for (size_t i = 0; i < note_name.size(); ++i) {
    if (note_name[i] == '_' && i + 1 < note_name.size() && note_name[i + 1] == '_') {
      out += '-';
      ++i;
    } else {
      out += note_name[i];
    }
  }
  return out;
}

Result<std::vector<UsdtProbe>> usdt_probes_of(const std::string& path, const std::string& module) {
  static std::map<std::string, std::vector<UsdtProbe>> cache;
  auto it = cache.find(path);
  if (it == cache.end()) {
    auto f = elf::ElfFile::open(path);
    if (!f) return f.error();
    std::vector<UsdtProbe> out;
    for (const auto& n : (*f)->sdt_notes()) {
      UsdtProbe p;
      p.provider = n.provider;
      p.name = n.name;
      p.module_path = path;
      p.pc = n.pc;
      p.semaphore = n.semaphore;
      p.args_text = n.args;
      if (const elf::Symbol* s = (*f)->function_containing(n.pc)) p.function = s->demangled;
      auto args = elf::parse_sdt_args(n.args);
      if (args) {
        p.args = std::move(*args);
        for (const auto& a : p.args) {
          uint64_t v = 0;
          if (!a.symbol.empty()) {
            for (const auto& s : (*f)->symbols()) {
              if (s.name == a.symbol) {
                v = s.value;
                break;
              }
            }
            if (v == 0) p.args_error = "USDT argument '" + a.text + "': no symbol '" + a.symbol + "'";
          }
          p.arg_symbols.push_back(v);
        }
      } else {
        p.args_error = args.error().message();
      }
      out.push_back(std::move(p));
    }
    it = cache.emplace(path, std::move(out)).first;
  }
  std::vector<UsdtProbe> out = it->second;
  for (auto& p : out) p.module = module;
  return out;
}

Result<std::vector<UsdtProbe>> usdt_probes(Session& s) {
  std::vector<UsdtProbe> out;
  for (const auto& m : s.modules()) {
    auto ps = usdt_probes_of(m.path, d_module_name(m));
    if (!ps) continue;  // not readable as ELF: it has no notes we can use
    out.insert(out.end(), ps->begin(), ps->end());
  }
  return out;
}

Probe usdt_engine_probe(const UsdtProbe& p) {
  Probe probe;
  probe.where.module = p.module_path;
  probe.where.address = p.pc;
  probe.where.trusted_address = true;  // the program's own note says a probe site is there
  if (p.semaphore) probe.semaphore = p.semaphore;
  probe.name = p.provider + ":" + p.name;
  return probe;
}

Result<uint64_t> usdt_arg(const UsdtProbe& p, size_t i, const HitContext& ctx) {
  if (!p.args_error.empty()) return Error(p.args_error, ErrorKind::parse);
  if (i >= p.args.size()) {
    return Error("USDT probe '" + p.provider + ":" + p.name + "' has " + std::to_string(p.args.size()) +
                     " argument" + (p.args.size() == 1 ? "" : "s") + "; there is no argument " + std::to_string(i),
                 ErrorKind::usage);
  }
  // The module's load bias: where the site is now minus where the note says.
  const uint64_t bias = ctx.site().address - p.pc;
  elf::SdtReader read = [&ctx](uint64_t addr, void* buf, size_t len) {
    auto n = ctx.read(addr, buf, len);
    return n && *n == len;
  };
  return elf::evaluate_sdt_arg(p.args[i], ctx.regs(), read, p.arg_symbols[i] + bias);
}

namespace {

bool names_probe(const UsdtProbe& p, const std::string& provider, const std::string& name) {
  return glob_match(provider, p.provider) && (glob_match(name, p.name) || glob_match(name, usdt_d_name(p.name)));
}

Result<UsdtSites> select(std::vector<UsdtProbe> all, const std::string& module, const std::string& provider,
                         const std::string& name, bool pending) {
  UsdtSites out;
  out.pending = pending;
  std::vector<std::string> have;
  for (auto& p : all) {
    if (names_probe(p, provider, name)) {
      out.probes.push_back(std::move(p));
    } else {
      std::string n = p.provider + ":" + p.name;
      if (std::find(have.begin(), have.end(), n) == have.end()) have.push_back(n);
    }
  }
  if (!out.probes.empty()) return out;
  std::string msg = "no USDT probe '" + provider + ":" + name + "' in '" + module + "'";
  if (have.empty()) {
    msg += "; it has no USDT probes (no .note.stapsdt section)";
  } else {
    msg += "; it has " + join(have, ", ");
  }
  return Error(msg, ErrorKind::no_such_symbol);
}

}  // namespace

std::optional<std::string> find_unloaded_module(Session& s, const std::string& module) {
  if (module.find('/') != std::string::npos) {
    if (::access(module.c_str(), R_OK) == 0) return module;
    return std::nullopt;
  }
  if (module == "a.out" || module.empty() || has_glob(module)) return std::nullopt;
  std::vector<std::string> dirs;
  for (const auto& m : s.modules()) {
    auto slash = m.path.rfind('/');
    if (slash != std::string::npos) dirs.push_back(m.path.substr(0, slash));
  }
  if (const char* lp = std::getenv("LD_LIBRARY_PATH")) {
    for (const auto& d : split(lp, ':'))
      if (!d.empty()) dirs.push_back(d);
  }
  for (const char* d : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
                        "/usr/local/lib"})
    dirs.emplace_back(d);
  for (const auto& d : dirs) {
    std::string path = d + "/" + module;
    if (::access(path.c_str(), R_OK) == 0) return path;
  }
  return std::nullopt;
}

Result<UsdtSites> resolve_usdt_definition(Session& s, const std::string& module, const std::string& provider,
                                          const std::string& name, bool may_wait) {
  auto find = [&]() -> std::optional<ModuleInfo> {
    for (const auto& m : s.modules())
      if (m.named_by(module)) return m;
    return std::nullopt;
  };
  auto m = find();
  if (!m) {
    (void)s.load_libraries();  // a launched target is held at exec: its libraries are not mapped yet
    m = find();
  }
  if (m) {
    auto all = usdt_probes_of(m->path, d_module_name(*m));
    if (!all) return all.error();
    return select(std::move(*all), module, provider, name, false);
  }
  if (auto file = find_unloaded_module(s, module)) {
    if (!may_wait) {
      return Error("module '" + module + "' is not loaded in process " + std::to_string(s.pid()) +
                       "; with -Z (or -c) its probes arm if the program loads it",
                   ErrorKind::no_such_module);
    }
    auto all = usdt_probes_of(*file, file->substr(file->rfind('/') + 1));
    if (!all) return all.error();
    return select(std::move(*all), module, provider, name, true);
  }
  std::vector<std::string> names;
  for (const auto& mi : s.modules()) names.push_back(mi.is_main_executable ? "a.out (" + mi.name + ")" : mi.name);
  return Error("no module '" + module + "' in process " + std::to_string(s.pid()) + "; mapped: " + join(names, ", ") +
                   (may_wait ? "; a library loaded later by dlopen must be found by name (next to a loaded "
                               "object, in LD_LIBRARY_PATH or the system's directories) or named by its path"
                             : ""),
               ErrorKind::no_such_module);
}

trace::ArgResolver usdt_arg_resolver(const UsdtProbe& p) {
  return [p](const std::string& text) -> Result<trace::ArgLocation> {
    const std::string what = p.provider + ":" + p.name;
    auto n = parse_uint(text, 10);
    if (!n || text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
      return Error("'$arg:" + text + "' names a parameter; USDT probe '" + what +
                       "' has numbered arguments: use $arg1..$arg" + std::to_string(p.args.size()),
                   ErrorKind::usage);
    }
    if (!p.args_error.empty()) return Error(p.args_error, ErrorKind::unsupported);
    if (*n == 0 || *n > p.args.size()) {
      return Error("USDT probe '" + what + "' has " + std::to_string(p.args.size()) + " argument" +
                       (p.args.size() == 1 ? "" : "s") + " ('" + p.args_text + "'); there is no '$arg" + text + "'",
                   ErrorKind::usage);
    }
    const elf::SdtArg& a = p.args[*n - 1];
    trace::ArgLocation loc;
    loc.type = trace::FetchType{a.is_signed ? trace::TypeKind::signed_int : trace::TypeKind::unsigned_int, a.size};
    auto reg_of = [&](const elf::SdtRegister& r) { return trace::find_register(r.name); };
    switch (a.kind) {
      case elf::SdtArg::Kind::imm:
        loc.kind = trace::ArgLocationKind::immediate;
        loc.value = static_cast<uint64_t>(a.offset);
        return loc;
      case elf::SdtArg::Kind::reg:
        if (auto r = reg_of(a.reg)) {
          loc.kind = trace::ArgLocationKind::in_register;
          loc.reg = *r;
          return loc;
        }
        break;
      case elf::SdtArg::Kind::mem:
        if (a.index.word < 0 && a.symbol.empty()) {
          if (auto r = reg_of(a.reg)) {
            loc.kind = trace::ArgLocationKind::in_memory;
            loc.reg = *r;
            loc.offset = a.offset;
            return loc;
          }
        }
        break;
    }
    return Error("USDT argument '" + a.text + "' of '" + what +
                     "' (an indexed or symbol-relative operand) cannot be a fetch-arg; D's argN reads it",
                 ErrorKind::unsupported);
  };
}

}  // namespace probekit::cli
