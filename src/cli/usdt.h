// cli/usdt.h — USDT probes (.note.stapsdt) of a process's modules, for the
// D provider (PROVIDER$target:MODULE:FUNCTION:NAME) and `probekit trace`'s
// u: definitions.
//
// A USDT site is a `nop` the compiler left where the program's author put
// STAP_PROBE(provider, name, ...), with a note saying where and where each
// argument is (elf/sdt_args.h). So nothing here needs the engine beyond
// what every probe has: a probe at a module-relative address (the note's
// pc) and, for a probe behind an is-enabled test, Probe::semaphore. The
// one idea: a USDT probe is an ordinary probe at an address; only its
// arguments are different, and they are read as the note says.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "elf/sdt_args.h"
#include "probekit/hit_context.h"
#include "probekit/probekit.h"
#include "trace/fetch.h"
#include "util/result.h"

namespace probekit::cli {

struct UsdtProbe {
  std::string provider;     // "python"
  std::string name;         // as in the note: "function__entry"
  std::string module_path;  // the object the note is in
  std::string module;       // D's module name: "a.out" or the file name
  std::string function;     // the function the site is in ("" when none)
  uint64_t pc = 0;          // link-time address of the site
  uint64_t semaphore = 0;   // link-time address of the is-enabled counter, 0: none
  std::vector<elf::SdtArg> args;
  std::vector<uint64_t> arg_symbols;  // link-time address of args[i].symbol (0: none)
  std::string args_text;
  std::string args_error;   // why args could not be parsed ("" when they were)
};

// DTrace's spelling of a note's name: "function__entry" -> "function-entry".
std::string usdt_d_name(const std::string& note_name);

// Every USDT probe of the object at path (cached per path), named as
// `module` in listings.
Result<std::vector<UsdtProbe>> usdt_probes_of(const std::string& path, const std::string& module);

// Every USDT probe of every module the session has mapped, in module order.
Result<std::vector<UsdtProbe>> usdt_probes(Session& s);

// The engine probe at p's site (module path + the note's pc), with its
// semaphore when it has one. Handlers are the caller's.
Probe usdt_engine_probe(const UsdtProbe& p);

// Argument i at a hit of p (its size and sign from the note). Errors:
// bad_address when it is in memory that cannot be read, usage when p has no
// argument i.
Result<uint64_t> usdt_arg(const UsdtProbe& p, size_t i, const HitContext& ctx);

// The file a module that is not mapped yet will be loaded from, for its
// notes: a path as given; a file name searched in the directories of the
// mapped objects, LD_LIBRARY_PATH and the system's library directories
// (where dlopen would find it). nullopt when none is readable.
std::optional<std::string> find_unloaded_module(Session& s, const std::string& module);

// The sites a `probekit trace` u:MODULE:PROVIDER:NAME definition names (NAME
// as in the note or with '-' for "__"; globs allowed in PROVIDER and NAME).
// MODULE is looked up among the mapped objects (a launched target's
// libraries are loaded first when it is not found); a path to a file that is
// not mapped yet gives its sites with pending set when may_wait (-c, -Z): the
// probes arm if the program loads it. Errors: no_such_module, no_such_symbol
// (naming the probes the module has).
struct UsdtSites {
  std::vector<UsdtProbe> probes;
  bool pending = false;
};
Result<UsdtSites> resolve_usdt_definition(Session& s, const std::string& module, const std::string& provider,
                                          const std::string& name, bool may_wait);

// Lowers a u: definition's $argN (N from 1) to where p's note puts it, typed
// sN/uN by the note's size and sign.
trace::ArgResolver usdt_arg_resolver(const UsdtProbe& p);

}  // namespace probekit::cli
