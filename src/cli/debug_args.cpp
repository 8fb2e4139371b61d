#include "cli/debug_args.h"

#include <algorithm>
#include <optional>

#include "util/strings.h"

namespace probekit::cli {

namespace {

using dwarf::TypeClass;

std::string param_names(const dwarf::Function& fn) {
  std::vector<std::string> names;
  for (const auto& p : fn.params)
    if (!p.name.empty()) names.push_back(p.name);
  return names.empty() ? "none" : join(names, ", ");
}

// "unsigned char" and "char" (signed on x86-64) are both TypeClass::character.
bool char_is_signed(const dwarf::Type& t) { return t.name.find("unsigned") == std::string::npos; }

bool is_basename_of(const std::string& name, const ModuleInfo& m) {
  if (m.is_main_executable && (name == "a.out" || name == m.name)) return true;
  if (name == m.name || name == m.path) return true;
  return starts_with(m.name, name + ".");  // "libc" / "libc.so" -> "libc.so.6"
}

}  // namespace

Result<const dwarf::DebugInfo*> DebugArgs::debug_info(const std::string& path) {
  auto it = cache_.find(path);
  if (it == cache_.end()) {
    Entry e;
    auto opened = dwarf::DebugInfo::open(path);
    if (opened) e.info = std::move(*opened);
    else e.error = opened.error();
    it = cache_.emplace(path, std::move(e)).first;
  }
  if (it->second.error) return *it->second.error;
  return static_cast<const dwarf::DebugInfo*>(it->second.info.get());
}

Result<const dwarf::Function*> DebugArgs::function(const std::string& path, const std::string& symbol) {
  auto info = debug_info(path);
  if (!info) return info.error();
  const dwarf::Function* fn = (*info)->function(symbol);
  if (!fn)
    return Error("'" + path + "' has debug information but none for function '" + symbol +
                     "' (built without -g?); use $argN or arg0..arg9",
                 ErrorKind::unsupported);
  return fn;
}

std::optional<trace::FetchType> fetch_type_of(const dwarf::Type& type) {
  using trace::FetchType;
  using trace::TypeKind;
  auto bytes = static_cast<uint8_t>(type.size);
  bool sized = type.size == 1 || type.size == 2 || type.size == 4 || type.size == 8;
  switch (type.cls) {
  case TypeClass::string: return FetchType{TypeKind::string, 0};
  case TypeClass::pointer: return FetchType{TypeKind::hex, 8};
  case TypeClass::signed_int:
    if (sized) return FetchType{TypeKind::signed_int, bytes};
    break;
  case TypeClass::character:
    if (sized) return FetchType{char_is_signed(type) ? TypeKind::signed_int : TypeKind::unsigned_int, bytes};
    break;
  case TypeClass::unsigned_int:
  case TypeClass::boolean:
  case TypeClass::enumeration:
    if (sized) return FetchType{TypeKind::unsigned_int, bytes};
    break;
  case TypeClass::floating:
    if (type.size == 4 || type.size == 8) return FetchType{TypeKind::floating, bytes};
    break;
  default: break;
  }
  return std::nullopt;
}

Result<trace::ArgLocation> trace_arg_location(const dwarf::Function& fn, const std::string& name,
                                              const std::string& module_path) {
  const dwarf::Parameter* param = nullptr;
  for (const auto& p : fn.params)
    if (p.name == name) param = &p;
  if (!param) {
    std::vector<std::string> names;
    for (const auto& p : fn.params) names.push_back(p.name);
    auto close = closest_matches(name, names, 1);
    return Error("function '" + fn.name + "' in '" + module_path + "' has no parameter '" + name + "'" +
                     (close.empty() ? "" : "; did you mean '" + close[0] + "'?") +
                     " (its parameters: " + param_names(fn) + ")",
                 ErrorKind::no_such_symbol);
  }
  if (fn.clone)
    return Error("'" + fn.name + "' in '" + module_path +
                     "' is an optimizer clone whose calling convention may differ from its declaration; "
                     "probe the original function or use registers",
                 ErrorKind::unsupported);
  trace::ArgLocation loc;
  loc.type = fetch_type_of(param->type);
  const auto& where = param->location;
  static const trace::Gpr kGprs[6] = {trace::Gpr::rdi, trace::Gpr::rsi, trace::Gpr::rdx,
                                      trace::Gpr::rcx, trace::Gpr::r8,  trace::Gpr::r9};
  switch (where.kind) {
  case dwarf::ArgLocation::Kind::gpr:
    if (where.index < 0 || where.index > 5) break;
    loc.kind = trace::ArgLocationKind::in_register;
    loc.reg = trace::RegisterRef{kGprs[where.index], 64, 0};
    return loc;
  case dwarf::ArgLocation::Kind::xmm:
    if (where.index < 0 || where.index > 15) break;
    loc.kind = trace::ArgLocationKind::in_xmm;
    loc.xmm = static_cast<uint8_t>(where.index);
    return loc;
  case dwarf::ArgLocation::Kind::stack:
    if (where.index < 0) break;
    loc.kind = trace::ArgLocationKind::in_memory;
    loc.reg = trace::RegisterRef{trace::Gpr::rsp, 64, 0};
    loc.offset = where.index;
    return loc;
  }
  return Error("parameter '" + name + "' of '" + fn.name + "' (" + param->type.name +
                   ") is not passed in a register or stack slot a fetch-arg can name",
               ErrorKind::unsupported);
}

std::optional<std::string> module_path_for(Session& session, const std::string& module,
                                           const std::string& symbol) {
  auto modules = session.modules();
  if (!module.empty()) {
    for (const auto& m : modules)
      if (is_basename_of(module, m)) return m.path;
    return std::nullopt;
  }
  // No module: the executable first, then the libraries, as the engine resolves.
  std::stable_partition(modules.begin(), modules.end(), [](const ModuleInfo& m) { return m.is_main_executable; });
  for (const auto& m : modules) {
    auto fns = session.functions(m.path);
    if (!fns) continue;
    for (const auto& f : *fns)
      if (f.name == symbol || f.raw_name == symbol) return m.path;
  }
  return std::nullopt;
}

trace::ArgResolver make_arg_resolver(DebugArgs& debug, Session& session, const trace::Definition& def) {
  return [&debug, &session, module = def.module, symbol = def.symbol](const std::string& name)
             -> Result<trace::ArgLocation> {
    if (symbol.empty())
      return Error("'$arg:" + name + "' needs a function: probe a symbol, not an address", ErrorKind::usage);
    auto path = module_path_for(session, module, symbol);
    if (!path) {
      // A launched target is held at exec: its libraries are not mapped yet.
      (void)session.load_libraries();
      path = module_path_for(session, module, symbol);
    }
    if (!path)
      return Error("cannot find the module that defines '" + symbol + "' for '$arg:" + name + "'",
                   ErrorKind::no_such_symbol);
    auto info = debug.debug_info(*path);
    if (!info)
      return Error("'" + *path + "' has no debug information, so parameter names are unavailable; "
                   "'$argN' (and registers) still work",
                   ErrorKind::unsupported);
    auto fn = debug.function(*path, symbol);
    if (!fn) return fn.error();
    return trace_arg_location(**fn, name, *path);
  };
}

ProbeParams probe_params(const dwarf::Function& fn) {
  ProbeParams out;
  for (const auto& p : fn.params) {
    if (out.types.size() == 10) break;
    d::ProbeArg a;
    a.name = p.name;
    a.c_type = p.type.name;
    a.size = static_cast<uint8_t>(p.type.size == 1 || p.type.size == 2 || p.type.size == 4 ? p.type.size : 8);
    switch (p.type.cls) {
    case TypeClass::string: a.kind = d::ProbeArg::Kind::string; a.size = 8; a.is_signed = false; break;
    case TypeClass::pointer: a.kind = d::ProbeArg::Kind::pointer; a.size = 8; a.is_signed = false; break;
    case TypeClass::floating: a.kind = d::ProbeArg::Kind::floating; a.is_signed = false; break;
    case TypeClass::signed_int: a.is_signed = true; break;
    case TypeClass::character: a.is_signed = char_is_signed(p.type); break;
    case TypeClass::unsigned_int:
    case TypeClass::boolean:
    case TypeClass::enumeration: a.is_signed = false; break;
    default: a.size = 8; a.is_signed = false; break;  // a struct by value: its first eightbyte
    }
    out.types.push_back(std::move(a));
    out.where.push_back(p.location);
  }
  return out;
}

std::shared_ptr<const ProbeParams> lookup_probe_params(DebugArgs& debug, const std::string& path,
                                                       const std::string& symbol) {
  auto fn = debug.function(path, symbol);
  if (!fn || (*fn)->clone) return nullptr;
  return std::make_shared<const ProbeParams>(probe_params(**fn));
}

void fill_params(HitContext& ctx, const ProbeParams& params, d::FireContext& fc) {
  const auto& r = ctx.regs();
  const uint64_t gprs[6] = {r.rdi, r.rsi, r.rdx, r.rcx, r.r8, r.r9};
  std::optional<user_fpregs_struct> fp;
  for (size_t i = 0; i < params.where.size() && i < 10; ++i) {
    const auto& w = params.where[i];
    uint64_t v = 0;
    switch (w.kind) {
    case dwarf::ArgLocation::Kind::gpr:
      if (w.index >= 0 && w.index < 6) v = gprs[w.index];
      break;
    case dwarf::ArgLocation::Kind::xmm:
      if (!fp) {
        auto f = ctx.fpregs();
        fp = f ? *f : user_fpregs_struct{};
      }
      if (w.index >= 0 && w.index < 16)
        v = static_cast<uint64_t>(fp->xmm_space[4 * w.index]) |
            static_cast<uint64_t>(fp->xmm_space[4 * w.index + 1]) << 32;
      break;
    case dwarf::ArgLocation::Kind::stack:
      if (w.index >= 0) {
        auto m = ctx.read_value<uint64_t>(r.rsp + static_cast<uint64_t>(w.index));
        v = m ? *m : 0;
      }
      break;
    }
    fc.params[i] = v;
  }
}

std::vector<std::string> describe_args(DebugArgs& debug, const std::string& path, const std::string& symbol,
                                       bool is_return) {
  std::vector<std::string> lines;
  auto info = debug.debug_info(path);
  if (!info) {
    lines.push_back("unavailable (no debug information in '" + path + "')");
    return lines;
  }
  const dwarf::Function* fn = (*info)->function(symbol);
  if (!fn) {
    lines.push_back("unavailable (no debug information for '" + symbol + "' in '" + path + "')");
    return lines;
  }
  if (is_return) {
    lines.push_back("args[0]: uint64_t (offset of the returning instruction)");
    if (fn->return_type.cls != TypeClass::void_) lines.push_back("args[1]: " + fn->return_type.name);
    return lines;
  }
  for (size_t i = 0; i < fn->params.size(); ++i) {
    const auto& p = fn->params[i];
    std::string t = p.type.name;
    // "const char * name", "int id": the C declaration without the pointer glued on.
    std::string line = "args[" + std::to_string(i) + "]: " + t;
    if (!p.name.empty()) line += " " + p.name;
    lines.push_back(line);
  }
  if (fn->varargs) lines.push_back("...");
  if (lines.empty()) lines.push_back("None");
  if (fn->clone) lines.push_back("(an optimizer clone: the real calling convention may differ)");
  return lines;
}

}  // namespace probekit::cli

namespace probekit::cli {

Status check_override(DebugArgs& debug, const std::string& path, const std::string& symbol) {
  auto fn = debug.function(path, symbol);
  if (!fn) return {};  // no DWARF: the caller's responsibility, as documented
  const dwarf::Function& f = **fn;
  if (f.returns_in_memory)
    return Error("cannot override the return of '" + symbol + "': it returns '" + f.return_type.name +
                     "' in memory through a hidden pointer, which a faked return cannot fill",
                 ErrorKind::unsupported);
  switch (f.return_type.cls) {
  case dwarf::TypeClass::floating:
    return Error("cannot override the return of '" + symbol + "': it returns '" + f.return_type.name +
                     "' in xmm0; override sets the integer return register only",
                 ErrorKind::unsupported);
  case dwarf::TypeClass::structure:
    return Error("cannot override the return of '" + symbol + "': it returns the struct '" +
                     f.return_type.name + "' in registers; override sets rax only",
                 ErrorKind::unsupported);
  default:
    return {};
  }
}

}  // namespace probekit::cli
